// Push webhooks from GitHub / Gitea (HMAC-SHA256 in X-Hub-Signature-256) and GitLab
// (X-Gitlab-Token) at POST /hooks/<project>. Every delivery is recorded, refused ones with
// their reason; a valid push triggers the workflows for the pushed commit, which must be in
// the project's hosted repository (mirrors push there).
#include "base/http_server.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "server/context.h"
#include "server/git_repo.h"
#include "server/json_body.h"

namespace gantry::server {

WebhookResult ParseWebhook(const http::Headers& headers, const std::string& body, const std::string& secret) {
  WebhookResult out;
  std::string_view github_event = http::FindHeader(headers, "X-GitHub-Event");
  std::string_view gitea_event = http::FindHeader(headers, "X-Gitea-Event");
  std::string_view gitlab_event = http::FindHeader(headers, "X-Gitlab-Event");
  std::string event;
  if (!gitlab_event.empty()) {
    std::string_view token = http::FindHeader(headers, "X-Gitlab-Token");
    if (token.empty() || !ConstantTimeEquals(token, secret)) {
      return {401, "GitLab token missing or wrong", std::nullopt};
    }
    if (gitlab_event != "Push Hook" && gitlab_event != "Tag Push Hook") {
      return {202, "ignored GitLab event '" + std::string(gitlab_event) + "'", std::nullopt};
    }
  } else if (!github_event.empty() || !gitea_event.empty()) {
    std::string_view sig = http::FindHeader(headers, "X-Hub-Signature-256");
    if (!StartsWith(sig, "sha256=")) return {401, "X-Hub-Signature-256 missing", std::nullopt};
    if (!ConstantTimeEquals(sig.substr(7), HmacSha256Hex(secret, body))) {
      return {401, "X-Hub-Signature-256 does not match the body", std::nullopt};
    }
    event = std::string(!github_event.empty() ? github_event : gitea_event);
    if (event == "ping") return {202, "ping", std::nullopt};
    if (event != "push") return {202, "ignored event '" + event + "'", std::nullopt};
  } else {
    return {400, "not a GitHub, Gitea or GitLab webhook (no event header)", std::nullopt};
  }
  auto j = ParseJsonBody(body);
  if (!j.ok()) return {400, j.error(), std::nullopt};
  auto ref = StringField(*j, "ref");
  auto before = StringField(*j, "before");
  auto after = StringField(*j, "after");
  if (!ref.ok() || !before.ok() || !after.ok()) {
    return {400, !ref.ok() ? ref.error() : !before.ok() ? before.error() : after.error(), std::nullopt};
  }
  if (!StartsWith(*ref, "refs/") || after->size() != 40 ||
      after->find_first_not_of("0123456789abcdef") != std::string::npos) {
    return {400, "body: push needs 'ref' (refs/...) and 'after' (a 40-hex commit)", std::nullopt};
  }
  out.push = WebhookPush{*ref, *before, *after};
  out.reason = "push " + *ref;
  return out;
}

namespace {

void HandleHook(Context& ctx, http::Request& req, http::Response& res) {
  std::string project = req.rest;
  if (StartsWith(project, "/")) project = project.substr(1);
  if (!ValidProjectName(project)) return SendError(res, 404, "no such project");
  auto p = ctx.store->FindProject(project);
  if (!p.ok()) return SendError(res, 503, p.error());
  if (!p->has_value()) return SendError(res, 404, "no project '" + project + "'");
  std::string source = !req.Header("X-Gitlab-Event").empty()  ? "gitlab"
                       : !req.Header("X-Gitea-Event").empty() ? "gitea"
                                                              : "github";
  auto body = req.ReadAll(kMaxWebhookBody);
  if (!body.ok()) {
    (void)ctx.store->RecordDelivery((*p)->id, source, 413, body.error());
    return SendError(res, 413, body.error());
  }
  WebhookResult r = ParseWebhook(req.headers, *body, (*p)->webhook_secret);
  if (r.push) {
    std::string repo = ctx.queue->RepoPath(project);
    if (!Git({"--git-dir", repo, "cat-file", "-e", r.push->after + "^{commit}"}).ok()) {
      r = {422, "commit " + r.push->after + " is not in the hosted repository", std::nullopt};
    }
  }
  (void)ctx.store->RecordDelivery((*p)->id, source, r.status, r.reason);
  if (r.status != 200) return SendError(res, r.status, r.reason);
  TriggerRequest tr;
  tr.event = "push";
  tr.ref = r.push->ref;
  tr.sha = r.push->after;
  tr.before = r.push->before;
  auto runs = ctx.queue->Trigger(**p, tr);
  if (!runs.ok()) return SendError(res, 422, runs.error());
  (void)ctx.store->Audit("webhook:" + source, "webhook.push", project, tr.ref + " " + tr.sha, req.remote_addr);
  SendJson(res, 200, "{\"runs\":" + std::to_string(runs->size()) + "}");
}

}  // namespace

void MountWebhooks(Context& ctx, http::Router& router) {
  router.Mount("POST", "/hooks/", [&ctx](http::Request& req, http::Response& res) { HandleHook(ctx, req, res); });
}

}  // namespace gantry::server
