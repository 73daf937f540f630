// The registry against a real HTTP server on 127.0.0.1 (port 0) through the blocking client,
// plus an in-memory request for failure shapes a socket cannot produce deterministically
// (a body that breaks off mid-chunk).
#include "registry/registry.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/http_auth.h"
#include "base/http_client.h"
#include "base/http_server.h"
#include "registry/manifest.h"
#include "registry/names.h"

namespace gantry::registry {
namespace {

using blob::DigestOf;

class FakeRequest : public http::Request {
 public:
  std::string body;
  size_t fail_after = std::string::npos;  // ReadBody returns -1 once this many bytes were read
  size_t pos = 0;
  long long ReadBody(char* buf, size_t n) override {
    if (pos >= fail_after) return -1;
    size_t k = std::min({n, body.size() - pos, fail_after - pos});
    std::memcpy(buf, body.data() + pos, k);
    pos += k;
    return static_cast<long long>(k);
  }
};

class FakeResponse : public http::Response {
 public:
  int status = 0;
  http::Headers headers;
  std::string body;
  bool Start(int s, const http::Headers& h, std::optional<uint64_t>) override {
    status = s, headers = h, started_ = true;
    return true;
  }
  bool Write(std::string_view d) override {
    body += d;
    return true;
  }
  bool Flush() override { return true; }
  void Finish() override {}
  bool started() const override { return started_; }

 private:
  bool started_ = false;
};

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("registry-test");
    Start();
  }
  void TearDown() override {
    Stop();
    RemoveAll(dir_);
  }
  void Start(AuthHook auth = nullptr, uint64_t max_blob = 1ull << 30) {
    store_ = blob::OpenFsBlobStore(dir_ + "/blobs").value();
    RegistryOptions opts;
    opts.data_dir = dir_ + "/registry";
    opts.auth = std::move(auth);
    opts.max_blob_bytes = max_blob;
    registry_ = std::make_unique<Registry>(*store_, opts);
    server_ = std::make_unique<http::Server>();
    ASSERT_TRUE(server_->Start(registry_->Handler()).ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void Stop() {
    server_.reset();
    registry_.reset();
    store_.reset();
  }
  http::ClientResponse Do(const std::string& method, const std::string& path, const std::string& body = "",
                          http::Headers headers = {}) {
    auto res = http::Fetch(http::MakeRequest(method, base_ + path, body, std::move(headers)));
    EXPECT_TRUE(res.ok()) << res.error();
    return res.ok() ? *res : http::ClientResponse{};
  }
  static std::string ErrorCode(const http::ClientResponse& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("errors")) return "<no error body>";
    return j["errors"][0]["code"].get<std::string>();
  }
  std::string PushBlob(const std::string& repo, const std::string& data) {
    std::string d = DigestOf(data);
    auto r = Do("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + d, data);
    EXPECT_EQ(r.status, 201) << r.body;
    return d;
  }
  // An image manifest over a config and one layer, both pushed; returns its JSON.
  std::string ImageManifest(const std::string& repo, const std::string& seed, const std::string& extra = "") {
    std::string config = "{\"seed\":\"" + seed + "\"}", layer = "layer-" + seed;
    PushBlob(repo, config);
    PushBlob(repo, layer);
    return std::string("{\"schemaVersion\":2,\"mediaType\":\"") + kOciManifest +
           "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
           DigestOf(config) + "\",\"size\":" + std::to_string(config.size()) +
           "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" + DigestOf(layer) +
           "\",\"size\":" + std::to_string(layer.size()) + "}]" + extra + "}";
  }
  http::ClientResponse PutManifest(const std::string& repo, const std::string& ref, const std::string& body,
                                   const std::string& type = kOciManifest) {
    return Do("PUT", "/v2/" + repo + "/manifests/" + ref, body, {{"Content-Type", type}});
  }

  std::string dir_, base_;
  std::unique_ptr<blob::BlobStore> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(RegistryTest, BaseCheck) {
  auto r = Do("GET", "/v2/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST_F(RegistryTest, MonolithicPushThenPullWithRanges) {
  std::string d = PushBlob("team/app", "0123456789");
  auto head = Do("HEAD", "/v2/team/app/blobs/" + d);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), "10");
  EXPECT_EQ(head.Header("Docker-Content-Digest"), d);
  EXPECT_EQ(Do("GET", "/v2/team/app/blobs/" + d).body, "0123456789");
  auto part = Do("GET", "/v2/team/app/blobs/" + d, "", {{"Range", "bytes=2-4"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, "234");
  EXPECT_EQ(part.Header("Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(Do("GET", "/v2/team/app/blobs/" + d, "", {{"Range", "bytes=20-"}}).status, 416);
  // Blobs are scoped to the repository they were pushed to.
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/other/blobs/" + d)), "BLOB_UNKNOWN");
}

TEST_F(RegistryTest, WrongDigestIsRefusedAndNothingIsVisible) {
  std::string wrong = DigestOf("something else");
  auto r = Do("POST", "/v2/app/blobs/uploads/?digest=" + wrong, "payload");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "DIGEST_INVALID");
  EXPECT_EQ(Do("HEAD", "/v2/app/blobs/" + wrong).status, 404);
  EXPECT_FALSE(store_->Stat(DigestOf("payload")).has_value());
  EXPECT_EQ(ErrorCode(Do("POST", "/v2/app/blobs/uploads/?digest=md5:abc", "x")), "DIGEST_INVALID");
}

TEST_F(RegistryTest, ChunkedUploadWithContentRange) {
  auto start = Do("POST", "/v2/app/blobs/uploads/");
  ASSERT_EQ(start.status, 202);
  std::string loc(start.Header("Location"));
  EXPECT_EQ(start.Header("Range"), "0-0");
  auto p1 = Do("PATCH", loc, "hello ", {{"Content-Range", "0-5"}, {"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(p1.status, 202);
  EXPECT_EQ(p1.Header("Range"), "0-5");
  auto bad = Do("PATCH", loc, "xx", {{"Content-Range", "3-4"}});
  EXPECT_EQ(bad.status, 416);
  auto p2 = Do("PATCH", loc, "world");
  EXPECT_EQ(p2.Header("Range"), "0-10");
  EXPECT_EQ(Do("GET", loc).Header("Range"), "0-10");
  EXPECT_EQ(ErrorCode(Do("PUT", loc + "?digest=" + DigestOf("hello wrong"))), "DIGEST_INVALID");
  EXPECT_EQ(ErrorCode(Do("PUT", loc + "?digest=" + DigestOf("hello world"))), "BLOB_UPLOAD_UNKNOWN")
      << "a failed commit ends the session";

  start = Do("POST", "/v2/app/blobs/uploads/");
  loc = start.Header("Location");
  Do("PATCH", loc, "hello ");
  auto done = Do("PUT", loc + "?digest=" + DigestOf("hello world"), "world");
  EXPECT_EQ(done.status, 201);
  EXPECT_EQ(Do("GET", "/v2/app/blobs/" + DigestOf("hello world")).body, "hello world");
  // Another repository cannot use the session.
  start = Do("POST", "/v2/app/blobs/uploads/");
  loc = start.Header("Location");
  std::string id = loc.substr(loc.rfind('/') + 1);
  EXPECT_EQ(ErrorCode(Do("PATCH", "/v2/other/blobs/uploads/" + id, "x")), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(Do("DELETE", loc).status, 204);
  EXPECT_EQ(Do("GET", loc).status, 404);
}

TEST_F(RegistryTest, TruncatedChunkIsDiscarded) {
  auto start = Do("POST", "/v2/app/blobs/uploads/");
  std::string loc(start.Header("Location"));
  Do("PATCH", loc, "kept ");
  FakeRequest req;
  req.method = "PATCH";
  req.path = loc;
  req.body = "this chunk breaks off";
  req.content_length = req.body.size();
  req.fail_after = 7;
  FakeResponse res;
  registry_->Serve(req, res);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("BLOB_UPLOAD_INVALID"), std::string::npos);
  EXPECT_EQ(Do("GET", loc).Header("Range"), "0-4");
}

TEST_F(RegistryTest, OversizedUploadIs413) {
  Stop();
  Start(nullptr, 16);
  auto r = Do("POST", "/v2/app/blobs/uploads/?digest=" + DigestOf(std::string(32, 'x')), std::string(32, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "SIZE_INVALID");
  // Chunked (no Content-Length): refused while streaming, nothing kept.
  auto start = Do("POST", "/v2/app/blobs/uploads/");
  std::string loc(start.Header("Location"));
  std::string data(40, 'y');
  size_t pos = 0;
  http::ClientRequest req = http::MakeRequest("PATCH", base_ + loc);
  req.body_source = [&](char* buf, size_t n) -> long long {
    size_t k = std::min<size_t>({n, data.size() - pos, 8});
    std::memcpy(buf, data.data() + pos, k);
    pos += k;
    return static_cast<long long>(k);
  };
  auto res = http::Fetch(req);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(Do("GET", loc).Header("Range"), "0-0");
}

TEST_F(RegistryTest, UploadSurvivesRestart) {
  auto start = Do("POST", "/v2/app/blobs/uploads/");
  std::string loc(start.Header("Location"));
  Do("PATCH", loc, "before restart, ");
  Stop();
  Start();
  Do("PATCH", loc, "after");
  auto done = Do("PUT", loc + "?digest=" + DigestOf("before restart, after"));
  EXPECT_EQ(done.status, 201) << done.body;
}

TEST_F(RegistryTest, ManifestPushPullAndValidation) {
  std::string m = ImageManifest("team/app", "a");
  auto put = PutManifest("team/app", "v1", m);
  ASSERT_EQ(put.status, 201) << put.body;
  std::string digest = DigestOf(m);
  EXPECT_EQ(put.Header("Docker-Content-Digest"), digest);
  auto get = Do("GET", "/v2/team/app/manifests/v1");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, m);
  EXPECT_EQ(get.Header("Content-Type"), kOciManifest);
  EXPECT_EQ(Do("GET", "/v2/team/app/manifests/" + digest).body, m);
  EXPECT_EQ(Do("HEAD", "/v2/team/app/manifests/v1").Header("Docker-Content-Digest"), digest);
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/team/app/manifests/v2")), "MANIFEST_UNKNOWN");

  // Missing blobs, malformed JSON, wrong digest, mismatched media type.
  std::string missing = m;
  missing.replace(missing.find(DigestOf("layer-a")), 71, DigestOf("not pushed"));
  EXPECT_EQ(ErrorCode(PutManifest("team/app", "bad", missing)), "MANIFEST_BLOB_UNKNOWN");
  auto malformed = PutManifest("team/app", "bad", "{\"schemaVersion\":2,\n \"config\": [");
  EXPECT_EQ(ErrorCode(malformed), "MANIFEST_INVALID");
  EXPECT_NE(malformed.body.find("manifest:2:"), std::string::npos) << malformed.body;
  EXPECT_EQ(ErrorCode(PutManifest("team/app", DigestOf("other"), m)), "DIGEST_INVALID");
  EXPECT_EQ(ErrorCode(PutManifest("team/app", "bad", m, kDockerManifest)), "MANIFEST_INVALID");
  EXPECT_EQ(ErrorCode(PutManifest("team/app", "bad", std::string(100, '['))), "MANIFEST_INVALID");
  EXPECT_EQ(ErrorCode(PutManifest("team/app", "-bad-tag", m)), "TAG_INVALID");
  EXPECT_EQ(Do("GET", "/v2/team/app/manifests/bad").status, 404) << "nothing partially written is visible";

  // An index over the manifest; and one over a manifest that is not there.
  std::string index = std::string("{\"schemaVersion\":2,\"mediaType\":\"") + kOciIndex +
                      "\",\"manifests\":[{\"mediaType\":\"" + kOciManifest + "\",\"digest\":\"" + digest +
                      "\",\"size\":" + std::to_string(m.size()) + "}]}";
  EXPECT_EQ(PutManifest("team/app", "multi", index, kOciIndex).status, 201);
  std::string dangling = index;
  dangling.replace(dangling.find(digest), 71, DigestOf("nope"));
  EXPECT_EQ(ErrorCode(PutManifest("team/app", "multi2", dangling, kOciIndex)), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(RegistryTest, TagsAndCatalogPaginate) {
  std::string m = ImageManifest("app", "a");
  for (const char* t : {"a", "b", "c", "d", "e"}) ASSERT_EQ(PutManifest("app", t, m).status, 201);
  auto page = Do("GET", "/v2/app/tags/list?n=2");
  EXPECT_EQ(nlohmann::json::parse(page.body)["tags"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(page.Header("Link"), "</v2/app/tags/list?n=2&last=b>; rel=\"next\"");
  page = Do("GET", "/v2/app/tags/list?n=2&last=b");
  EXPECT_EQ(nlohmann::json::parse(page.body)["tags"], nlohmann::json({"c", "d"}));
  page = Do("GET", "/v2/app/tags/list?last=d");
  EXPECT_EQ(nlohmann::json::parse(page.body)["tags"], nlohmann::json({"e"}));
  EXPECT_TRUE(page.Header("Link").empty());
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/app/tags/list?n=x")), "PAGINATION_NUMBER_INVALID");
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/nothing/tags/list")), "NAME_UNKNOWN");

  PushBlob("b/one", "1");
  PushBlob("c", "2");
  auto cat = Do("GET", "/v2/_catalog?n=2");
  EXPECT_EQ(nlohmann::json::parse(cat.body)["repositories"], nlohmann::json({"app", "b/one"}));
  EXPECT_FALSE(cat.Header("Link").empty());
  cat = Do("GET", "/v2/_catalog?n=2&last=b/one");
  EXPECT_EQ(nlohmann::json::parse(cat.body)["repositories"], nlohmann::json({"c"}));
}

TEST_F(RegistryTest, ReferrersWithArtifactTypeFilter) {
  std::string image = ImageManifest("app", "img");
  ASSERT_EQ(PutManifest("app", "v1", image).status, 201);
  std::string subject = DigestOf(image);
  std::string sig = ImageManifest("app", "sig",
                                  ",\"artifactType\":\"application/vnd.example.sig\",\"subject\":{\"mediaType\":\"" +
                                      std::string(kOciManifest) + "\",\"digest\":\"" + subject + "\",\"size\":" +
                                      std::to_string(image.size()) + "},\"annotations\":{\"who\":\"ci\"}");
  auto put = PutManifest("app", DigestOf(sig), sig);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.Header("OCI-Subject"), subject);
  auto all = nlohmann::json::parse(Do("GET", "/v2/app/referrers/" + subject).body);
  ASSERT_EQ(all["manifests"].size(), 1u);
  EXPECT_EQ(all["manifests"][0]["digest"], DigestOf(sig));
  EXPECT_EQ(all["manifests"][0]["artifactType"], "application/vnd.example.sig");
  EXPECT_EQ(all["manifests"][0]["annotations"]["who"], "ci");
  auto filtered = Do("GET", "/v2/app/referrers/" + subject + "?artifactType=application/vnd.example.sig");
  EXPECT_EQ(filtered.Header("OCI-Filters-Applied"), "artifactType");
  EXPECT_EQ(nlohmann::json::parse(filtered.body)["manifests"].size(), 1u);
  auto none = Do("GET", "/v2/app/referrers/" + subject + "?artifactType=other");
  EXPECT_EQ(nlohmann::json::parse(none.body)["manifests"].size(), 0u);
  EXPECT_EQ(Do("DELETE", "/v2/app/manifests/" + DigestOf(sig)).status, 202);
  EXPECT_EQ(nlohmann::json::parse(Do("GET", "/v2/app/referrers/" + subject).body)["manifests"].size(), 0u);
}

TEST_F(RegistryTest, DeleteAndMount) {
  std::string m = ImageManifest("app", "a");
  ASSERT_EQ(PutManifest("app", "v1", m).status, 201);
  std::string layer = DigestOf("layer-a");
  auto mount = Do("POST", "/v2/copy/blobs/uploads/?mount=" + layer + "&from=app");
  EXPECT_EQ(mount.status, 201);
  EXPECT_EQ(Do("GET", "/v2/copy/blobs/" + layer).body, "layer-a");
  auto fallback = Do("POST", "/v2/copy/blobs/uploads/?mount=" + DigestOf("nope") + "&from=app");
  EXPECT_EQ(fallback.status, 202) << "unmountable: a regular upload session";

  EXPECT_EQ(Do("DELETE", "/v2/app/manifests/v1").status, 202);
  EXPECT_EQ(Do("GET", "/v2/app/manifests/v1").status, 404);
  EXPECT_EQ(Do("GET", "/v2/app/manifests/" + DigestOf(m)).status, 200) << "deleting a tag keeps the manifest";
  EXPECT_EQ(Do("DELETE", "/v2/app/manifests/" + DigestOf(m)).status, 202);
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/app/manifests/" + DigestOf(m))), "MANIFEST_UNKNOWN");
  EXPECT_EQ(Do("DELETE", "/v2/app/blobs/" + layer).status, 202);
  EXPECT_EQ(Do("GET", "/v2/app/blobs/" + layer).status, 404);
  EXPECT_EQ(Do("GET", "/v2/copy/blobs/" + layer).status, 200);
}

TEST_F(RegistryTest, BadNamesAreRefused) {
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/UPPER/tags/list")), "NAME_INVALID");
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/a/..b/tags/list")), "NAME_INVALID");
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/a//b/tags/list")), "NAME_INVALID");
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/_x/tags/list")), "NAME_INVALID");
  EXPECT_EQ(ErrorCode(Do("GET", "/v2/%ff%fe/tags/list")), "NAME_INVALID") << "invalid UTF-8 echoed safely";
  auto traversal = Do("GET", "/v2/a/%2e%2e/%2e%2e/etc/tags/list");
  EXPECT_GE(traversal.status, 400);
  EXPECT_TRUE(IsValidRepositoryName("team/app-1/x_y.z"));
  EXPECT_TRUE(IsValidRepositoryName("a__b/c---d"));
  EXPECT_FALSE(IsValidRepositoryName("a___b"));
  EXPECT_FALSE(IsValidRepositoryName("a/"));
  EXPECT_FALSE(IsValidRepositoryName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidTag(".."));
  EXPECT_FALSE(IsValidTag("a/b"));
}

TEST_F(RegistryTest, AuthHookDecidesPullAndPush) {
  Stop();
  Start([](const http::Request& req, std::string_view, Access access) {
    std::string user, password;
    if (!http::ParseBasicAuth(req.Header("Authorization"), &user, &password) || password != "pw") {
      return AuthResult::kUnauthenticated;
    }
    if (access != Access::kPull && user != "operator") return AuthResult::kDenied;
    return AuthResult::kAllowed;
  });
  auto anon = Do("GET", "/v2/");
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.Header("WWW-Authenticate"), "Basic realm=\"gantry\"");
  EXPECT_EQ(ErrorCode(anon), "UNAUTHORIZED");
  http::Headers viewer = {{"Authorization", "Basic dmlld2VyOnB3"}};         // viewer:pw
  http::Headers operator_ = {{"Authorization", "Basic b3BlcmF0b3I6cHc="}};  // operator:pw
  EXPECT_EQ(Do("GET", "/v2/", "", viewer).status, 200);
  auto denied = Do("POST", "/v2/app/blobs/uploads/?digest=" + DigestOf("x"), "x", viewer);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(ErrorCode(denied), "DENIED");
  EXPECT_EQ(Do("POST", "/v2/app/blobs/uploads/?digest=" + DigestOf("x"), "x", operator_).status, 201);
  EXPECT_EQ(Do("GET", "/v2/app/blobs/" + DigestOf("x"), "", viewer).body, "x");
  EXPECT_EQ(Do("GET", "/v2/app/blobs/" + DigestOf("x"), "", {{"Authorization", "Basic dmlld2VyOng="}}).status, 401);
}

TEST_F(RegistryTest, LifecyclePolicyAppliedByGc) {
  std::string m1 = ImageManifest("app", "old"), m2 = ImageManifest("app", "new");
  ASSERT_EQ(PutManifest("app", "v1", m1).status, 201);
  ASSERT_EQ(PutManifest("app", "v2", m2).status, 201);  // same second: ties keep the later name
  PushBlob("app", "orphan layer");
  ASSERT_TRUE(registry_->SetPolicy("app", {1, 1}).ok());
  EXPECT_EQ(registry_->GetPolicy("app")->keep_tags, 1);

  GcRunOptions gc;
  gc.blob_min_age = std::chrono::seconds(0);
  // Today: v1's tag goes (keep 1), its manifest is untagged but not yet a day old.
  auto report = registry_->CollectGarbage(gc);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->tags_deleted, 1u);
  EXPECT_EQ(report->manifests_deleted, 0u);
  EXPECT_EQ(Do("GET", "/v2/app/manifests/v1").status, 404);
  EXPECT_EQ(Do("GET", "/v2/app/manifests/" + DigestOf(m1)).status, 200);
  EXPECT_EQ(Do("GET", "/v2/app/blobs/" + DigestOf("orphan layer")).status, 404) << "unreferenced blob collected";
  // Two days later the untagged manifest expires and its layer with it.
  gc.now += std::chrono::hours(48);
  report = registry_->CollectGarbage(gc);
  EXPECT_EQ(report->manifests_deleted, 1u);
  EXPECT_EQ(Do("GET", "/v2/app/manifests/" + DigestOf(m1)).status, 404);
  EXPECT_FALSE(store_->Stat(DigestOf("layer-old")).has_value());
  EXPECT_EQ(Do("GET", "/v2/app/manifests/v2").body, m2);
  EXPECT_EQ(Do("GET", "/v2/app/blobs/" + DigestOf("layer-new")).body, "layer-new");
}

TEST(ManifestTest, ReaderRefusesBadShapes) {
  EXPECT_FALSE(ParseManifest("[]", "").ok());
  EXPECT_FALSE(ParseManifest("{\"schemaVersion\":1}", "").ok());
  EXPECT_FALSE(ParseManifest("8E8822", "").ok()) << "found by the fuzzer: number overflow";
  auto r = ParseManifest(
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:abc\",\"size\":1},"
      "\"layers\":[]}",
      "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("config"), std::string::npos);
  std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_NE(ParseManifest(deep, "").error().find("nested deeper"), std::string::npos);
  auto idx = ParseManifest("{\"schemaVersion\":2,\"manifests\":[]}", "");
  ASSERT_TRUE(idx.ok());
  EXPECT_TRUE(idx->is_index);
  EXPECT_FALSE(ParseManifest("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", "").ok());
}

}  // namespace
}  // namespace gantry::registry
