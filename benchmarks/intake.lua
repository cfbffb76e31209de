-- wrk script: durable GitLab push webhooks, each with its own Idempotency-Key so every request stores an event.
-- The body is GitLab's push example (doc webhook_events.md) with project 42 and a commit that mentions a key.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.headers["X-Gitlab-Event"] = "Push Hook"
wrk.headers["X-Gitlab-Token"] = "bench-secret"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"object_kind":"push","event_name":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/feature","checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","user_id":4,"user_name":"John Smith","user_username":"jsmith","user_email":"john@example.com","project_id":42,"project":{"id":42,"name":"Shop","description":"","web_url":"https://gitlab.example.com/acme/shop","namespace":"Acme","visibility_level":0,"path_with_namespace":"acme/shop","default_branch":"main"},"commits":[{"id":"b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327","message":"Update Catalan translation for PROJ-12\n\nSee https://gitlab.com/gitlab-org/gitlab for more information","title":"Update Catalan translation for PROJ-12","timestamp":"2011-12-12T14:27:31+02:00","url":"https://gitlab.example.com/acme/shop/-/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327","author":{"name":"Jordi Mallach","email":"jordi@softcatala.org"},"added":["CHANGELOG"],"modified":["app/controller/application.rb"],"removed":[]}],"total_commits_count":1}]]

-- `wrk ... -s intake.lua URL -- PREFIX`: wrk processes run side by side give different prefixes, so their
-- keys never collide (a collision is a redelivery, answered with the first event).
local prefix = ""
function init(args)
  prefix = args[1] or ""
end

function request()
  counter = counter + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Idempotency-Key"] = "bench-" .. prefix .. thread_id .. "-" .. counter .. "-" .. tostring(os.time())
  return wrk.format(nil, nil, headers, nil)
end
