// The same store suite against SQLite and a real PostgreSQL server on loopback.
#include "store/store.h"

#include <gtest/gtest.h>

#include "base/fs.h"
#include "store/db.h"
#include "store/migrations.h"
#include "store/postgres_test_server.h"
#include "store/seal.h"

namespace gantry::store {
namespace {

testing::PostgresTestServer* Postgres() {
  static auto* server = new testing::PostgresTestServer();  // stopped by the atexit below
  static bool registered = [] {
    std::atexit([] { delete server; });
    return true;
  }();
  (void)registered;
  return server;
}

class StoreTest {
 public:
  explicit StoreTest(std::string backend) : backend_(std::move(backend)) {}
  ~StoreTest() { TearDown(); }
  const std::string& GetParam() const { return backend_; }
  std::string backend_;
  void SetUp() {
    auto dir = MakeTempDir("gantry-store-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    std::string url;
    if (GetParam() == "postgres") {
      if (!Postgres()->installed()) GTEST_SKIP() << Postgres()->why();
      ASSERT_TRUE(Postgres()->available()) << Postgres()->why();
      static int counter = 0;
      url = Postgres()->NewDatabase("t" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
      old_url_ = Postgres()->NewDatabase("old" + std::to_string(::getpid()) + "_" + std::to_string(counter));
    }
    auto store = Store::Open(dir_, url);
    ASSERT_TRUE(store.ok()) << store.error();
    store_ = std::move(*store);
  }
  void TearDown() {
    store_.reset();
    if (!dir_.empty()) (void)RemoveAll(dir_);
  }
  Project MakeProject(const std::string& name = "app") {
    auto p = store_->CreateProject(name);
    EXPECT_TRUE(p.ok()) << p.error();
    return p.ok() ? *p : Project{};
  }
  store::Run MakeRun(const Project& p) {
    store::Run r;
    r.project_id = p.id;
    r.workflow = ".gantry/workflows/ci.yml";
    r.workflow_name = "CI";
    r.event = "push";
    r.ref = "refs/heads/main";
    r.sha = "abc";
    auto out = store_->CreateRun(r);
    EXPECT_TRUE(out.ok()) << out.error();
    return out.ok() ? *out : store::Run{};
  }
  std::string dir_;
  std::string old_url_;  // PostgreSQL: a second, empty database for the upgrade check
  std::unique_ptr<Store> store_;
  void MigratesToTheLatestVersionAndReopens();
  void ProjectsAreUnique();
  void RunsNumberedPerProjectAndPaged();
  void RunTitlesAndListFilters();
  void UpgradesRunsStoredBeforeTitles();
  void LogsAppendCompressAndReadBack();
  void BigStepLogCompressesInPieces();
  void StepsAnnotationsArtifacts();
  void TokensAreStoredHashed();
  void SecretsEncryptedAtRestWithEnvironmentOverride();
  void AuditDeliveriesRetentionIntegrity();
  void ApprovalsAndWaitingJobs();
};

void StoreTest::MigratesToTheLatestVersionAndReopens() {
  EXPECT_EQ(store_->schema_version(), LatestSchemaVersion());
  MakeProject();
  if (GetParam() == "sqlite") {
    store_.reset();
    auto again = Store::Open(dir_);
    ASSERT_TRUE(again.ok()) << again.error();
    auto projects = (*again)->ListProjects();
    ASSERT_TRUE(projects.ok());
    EXPECT_EQ(projects->size(), 1u);
  }
}

void StoreTest::ProjectsAreUnique() {
  MakeProject("web");
  auto dup = store_->CreateProject("web");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().find("already exists"), std::string::npos);
  auto found = store_->FindProject("web");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->webhook_secret.size(), 40u);
}

void StoreTest::RunsNumberedPerProjectAndPaged() {
  auto a = MakeProject("a"), b = MakeProject("b");
  for (int i = 0; i < 5; ++i) MakeRun(a);
  auto rb = MakeRun(b);
  EXPECT_EQ(rb.number, 1);
  RunFilter f;
  f.project_id = a.id;
  f.limit = 2;
  auto page = store_->ListRuns(f);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].number, 5);
  f.before_id = (*page)[1].id;
  auto next = store_->ListRuns(f);
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].number, 3);
  EXPECT_EQ((*next)[0].project, "a");
  ASSERT_TRUE(store_->SetRunStatus(rb.id, "running").ok());
  ASSERT_TRUE(store_->SetRunStatus(rb.id, "completed", "failure", "interrupted").ok());
  auto got = store_->GetRun(rb.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->conclusion, "failure");
  EXPECT_EQ((*got)->message, "interrupted");
  EXPECT_GT((*got)->finished_ms, 0);
  ASSERT_TRUE(store_->RequeueRun(rb.id).ok());
  got = store_->GetRun(rb.id);
  EXPECT_EQ((*got)->status, "queued");
  EXPECT_EQ((*got)->attempt, 2);
}

void StoreTest::RunTitlesAndListFilters() {
  auto p = MakeProject("titled");
  store::Run r;
  r.project_id = p.id;
  r.workflow = ".gantry/workflows/ci.yml";
  r.workflow_name = "CI";
  r.event = "push";
  r.ref = "refs/heads/feature/x";
  r.sha = "0123456789abcdef";
  r.title = "Fix the <b>parser</b> \"quotes\" & ünïcode";
  r.author = "Ada Lovelace";
  r.before = "fedcba9876543210";
  auto created = store_->CreateRun(r);
  ASSERT_TRUE(created.ok()) << created.error();
  auto got = store_->GetRun(created->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->title, r.title);
  EXPECT_EQ((*got)->author, "Ada Lovelace");
  EXPECT_EQ((*got)->before, "fedcba9876543210");
  r.ref = "refs/heads/main";
  r.workflow = ".gantry/workflows/deploy.yml";
  r.workflow_name = "Deploy";
  r.title = "Second";
  ASSERT_TRUE(store_->CreateRun(r).ok());
  RunFilter f;
  f.ref = "feature/x";
  auto by_branch = store_->ListRuns(f);
  ASSERT_TRUE(by_branch.ok()) << by_branch.error();
  ASSERT_EQ(by_branch->size(), 1u);
  EXPECT_EQ((*by_branch)[0].title, "Fix the <b>parser</b> \"quotes\" & ünïcode");
  f.ref = "refs/heads/main";
  EXPECT_EQ(store_->ListRuns(f)->size(), 1u);
  f = RunFilter{};
  f.workflow = "Deploy";
  auto by_name = store_->ListRuns(f);
  ASSERT_EQ(by_name->size(), 1u);
  EXPECT_EQ((*by_name)[0].title, "Second");
  f.workflow = ".gantry/workflows/ci.yml";
  EXPECT_EQ(store_->ListRuns(f)->size(), 1u);
  f.ref = "main";
  EXPECT_EQ(store_->ListRuns(f)->size(), 0u);
}

// A database written by a gantry from before migration 5 (schema version 4) keeps its runs,
// which read back with an empty title, and new runs get theirs.
void StoreTest::UpgradesRunsStoredBeforeTitles() {
  std::string url = GetParam() == "postgres" ? old_url_ : "sqlite:" + dir_ + "/old.db";
  std::string old_dir = dir_ + "/old";
  {
    auto db = GetParam() == "postgres" ? OpenPostgres(url) : OpenSqlite(dir_ + "/old.db");
    ASSERT_TRUE(db.ok()) << db.error();
    auto v = Migrate(**db, 4);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(*v, 4);
    ASSERT_TRUE((*db)->Exec("INSERT INTO projects (name, webhook_secret, created_ms) VALUES ('old', 's', 1)").ok());
    auto st = (*db)->Exec(
        "INSERT INTO runs (project_id, number, workflow, workflow_name, event, ref, sha, inputs_json, status, "
        "conclusion, message, attempt, concurrency_group, created_ms, started_ms, finished_ms) "
        "SELECT id, 1, 'ci.yml', 'CI', 'push', 'refs/heads/main', 'abc', '{}', 'completed', 'success', '', 1, '', "
        "1, 1, 2 FROM projects");
    ASSERT_TRUE(st.ok()) << st.message();
  }
  auto store = Store::Open(old_dir, url);
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_EQ((*store)->schema_version(), LatestSchemaVersion());
  auto runs = (*store)->ListRuns(RunFilter{});
  ASSERT_TRUE(runs.ok()) << runs.error();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].title, "");
  EXPECT_EQ((*runs)[0].sha, "abc");
  store::Run r = (*runs)[0];
  r.title = "New";
  auto created = (*store)->CreateRun(r);
  ASSERT_TRUE(created.ok()) << created.error();
  EXPECT_EQ((*(*store)->GetRun(created->id))->title, "New");
}

void StoreTest::LogsAppendCompressAndReadBack() {
  auto p = MakeProject();
  auto run = MakeRun(p);
  Job j;
  j.run_id = run.id;
  j.job_key = "build";
  j.name = "build (linux)";
  j.matrix_json = R"({"os":"linux"})";
  auto job = store_->CreateJob(j);
  ASSERT_TRUE(job.ok()) << job.error();
  ASSERT_TRUE(store_->AppendLog(*job, 1, {"one", "two"}).ok());
  ASSERT_TRUE(store_->AppendLog(*job, 1, {"three", "with 'quotes' and ? marks"}).ok());
  ASSERT_TRUE(store_->CompressStepLog(*job, 1).ok());
  std::vector<std::string> many;
  for (int i = 0; i < 450; ++i) many.push_back("line " + std::to_string(i));
  ASSERT_TRUE(store_->AppendLog(*job, 2, many).ok());
  auto all = store_->ReadLog(*job);
  ASSERT_TRUE(all.ok()) << all.error();
  ASSERT_EQ(all->size(), 454u);
  EXPECT_EQ((*all)[0].text, "one");
  EXPECT_EQ((*all)[3].text, "with 'quotes' and ? marks");
  EXPECT_EQ((*all)[3].seq, 4);
  EXPECT_EQ((*all)[4].text, "line 0");
  EXPECT_EQ((*all)[4].step, 2);
  auto tail = store_->ReadLog(*job, 3, 2);
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].seq, 4);
  ASSERT_TRUE(store_->CompressStepLog(*job, 2).ok());
  auto again = store_->ReadLog(*job, 0);
  EXPECT_EQ(again->size(), 454u);
  EXPECT_EQ(again->back().text, "line 449");
  auto jobs = store_->ListJobs(run.id);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].matrix_json, R"({"os":"linux"})");
}

// A step of 12 MB is compressed in several pieces (about 4 MB each, so neither the server
// nor a reader holds the whole step); every line reads back in order across the pieces.
void StoreTest::BigStepLogCompressesInPieces() {
  auto p = MakeProject();
  auto run = MakeRun(p);
  Job j;
  j.run_id = run.id;
  j.job_key = "big";
  j.name = "big";
  auto job = store_->CreateJob(j);
  ASSERT_TRUE(job.ok()) << job.error();
  const std::string pad(990, 'x');
  for (int b = 0; b < 6; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < 2000; ++i) batch.push_back(std::to_string(b * 2000 + i) + pad);
    ASSERT_TRUE(store_->AppendLog(*job, 1, batch).ok());
  }
  ASSERT_TRUE(store_->AppendLog(*job, 2, {"next step"}).ok());
  ASSERT_TRUE(store_->CompressStepLog(*job, 1).ok());
  int64_t after = 0, count = 0;
  for (;;) {
    auto page = store_->ReadLog(*job, after, 5000);
    ASSERT_TRUE(page.ok()) << page.error();
    if (page->empty()) break;
    for (const auto& l : *page) {
      if (l.step == 1) {
        ASSERT_EQ(l.text, std::to_string(count) + pad) << "seq " << l.seq;
      }
      ASSERT_EQ(l.seq, count + 1);
      ++count;
    }
    after = page->back().seq;
  }
  EXPECT_EQ(count, 12001);
  EXPECT_EQ(*store_->IntegrityCheck(), "ok");
}

void StoreTest::StepsAnnotationsArtifacts() {
  auto p = MakeProject();
  auto run = MakeRun(p);
  Job j;
  j.run_id = run.id;
  j.job_key = "t";
  j.name = "t";
  auto job = store_->CreateJob(j);
  auto step = store_->CreateStep(*job, 1, "Run tests");
  ASSERT_TRUE(step.ok());
  ASSERT_TRUE(store_->SetStepSummary(*step, "# ok").ok());
  ASSERT_TRUE(store_->FinishStep(*step, "success").ok());
  auto steps = store_->ListSteps(*job);
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ((*steps)[0].summary, "# ok");
  EXPECT_EQ((*steps)[0].conclusion, "success");
  ASSERT_TRUE(store_->AddAnnotation({*job, "error", "boom", "a.cc", "", 3}).ok());
  auto ann = store_->ListAnnotations(run.id);
  ASSERT_EQ(ann->size(), 1u);
  EXPECT_EQ((*ann)[0].line, 3);
  ASSERT_TRUE(store_->AddArtifact(Artifact{0, run.id, "dist", "sha256:x", 10}).ok());
  EXPECT_EQ(store_->ListArtifacts(run.id)->size(), 1u);
  ASSERT_TRUE(store_->SetJobStatus(*job, "completed", "failure", R"({"x":"1"})").ok());
  ASSERT_TRUE(store_->DeleteJobs(run.id, /*only_failed=*/true).ok());
  EXPECT_TRUE(store_->ListJobs(run.id)->empty());
}

void StoreTest::TokensAreStoredHashed() {
  auto token = store_->CreateToken("ci", Role::kOperator);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->substr(0, 4), "gty_");
  auto found = store_->FindToken(*token);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->role, Role::kOperator);
  EXPECT_FALSE(store_->FindToken(*token + "x")->has_value());
  if (GetParam() == "sqlite") {
    store_.reset();
    auto raw = ReadFile(dir_ + "/gantry.db");
    // The plaintext never reaches the database file (WAL included after a checkpoint or not).
    EXPECT_EQ(raw->find(*token), std::string::npos);
    auto wal = ReadFile(dir_ + "/gantry.db-wal");
    if (wal.ok()) {
      EXPECT_EQ(wal->find(*token), std::string::npos);
    }
  }
}

void StoreTest::SecretsEncryptedAtRestWithEnvironmentOverride() {
  auto p = MakeProject();
  ASSERT_TRUE(store_->SetSecret(p.id, "", "API_KEY", "s3cr3t-project").ok());
  ASSERT_TRUE(store_->SetSecret(p.id, "prod", "API_KEY", "s3cr3t-prod").ok());
  ASSERT_TRUE(store_->SetSecret(p.id, "", "OTHER", "x").ok());
  auto all = store_->Secrets(p.id, "");
  EXPECT_EQ((*all)["API_KEY"], "s3cr3t-project");
  auto prod = store_->Secrets(p.id, "prod");
  EXPECT_EQ((*prod)["API_KEY"], "s3cr3t-prod");
  EXPECT_EQ(prod->size(), 2u);
  ASSERT_TRUE(store_->DeleteSecret(p.id, "", "OTHER").ok());
  EXPECT_EQ(store_->Secrets(p.id)->size(), 1u);
  if (GetParam() == "sqlite") {
    store_.reset();
    for (const char* f : {"/gantry.db", "/gantry.db-wal"}) {
      auto raw = ReadFile(dir_ + f);
      if (raw.ok()) {
        EXPECT_EQ(raw->find("s3cr3t"), std::string::npos);
      }
    }
  }
}

void StoreTest::ApprovalsAndWaitingJobs() {
  auto p = MakeProject();
  auto r = MakeRun(p);
  Job j;
  j.run_id = r.id;
  j.job_key = "deploy";
  j.name = "deploy";
  j.status = "waiting";
  auto job = store_->CreateJob(j);
  ASSERT_TRUE(job.ok()) << job.error();
  EXPECT_EQ((*store_->ListJobs(r.id))[0].status, "waiting");
  Approval a;
  a.run_id = r.id;
  a.job = "deploy";
  a.environment = "production";
  a.user = "alice";
  a.decision = "approved";
  a.comment = "ship it";
  ASSERT_TRUE(store_->AddApproval(a).ok());
  a.user = "bob";
  a.decision = "rejected";
  a.comment = "";
  a.attempt = 2;
  ASSERT_TRUE(store_->AddApproval(a).ok());
  auto list = store_->ListApprovals(r.id);
  ASSERT_TRUE(list.ok()) << list.error();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].user, "alice");
  EXPECT_EQ((*list)[0].comment, "ship it");
  EXPECT_EQ((*list)[0].attempt, 1);
  EXPECT_GT((*list)[0].time_ms, 0);
  EXPECT_EQ((*list)[1].decision, "rejected");
  EXPECT_EQ((*list)[1].attempt, 2);
  ASSERT_TRUE(store_->StartJob(*job).ok());
  EXPECT_EQ((*store_->ListJobs(r.id))[0].status, "running");
  // Retention takes a run's approvals with it.
  ASSERT_TRUE(store_->SetRunStatus(r.id, "completed", "success").ok());
  ASSERT_EQ(*store_->DeleteRunsFinishedBefore(NowMs() + 1000), 1);
  EXPECT_TRUE(store_->ListApprovals(r.id)->empty());
}

void StoreTest::AuditDeliveriesRetentionIntegrity() {
  ASSERT_TRUE(store_->Audit("admin", "project.create", "app", "", "127.0.0.1:1").ok());
  auto audit = store_->ListAudit();
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "project.create");
  auto p = MakeProject();
  ASSERT_TRUE(store_->RecordDelivery(p.id, "github", 401, "bad signature").ok());
  EXPECT_EQ(*store_->CountDeliveries(401), 1);
  auto r = MakeRun(p);
  Job j;
  j.run_id = r.id;
  j.job_key = "x";
  auto job = store_->CreateJob(j);
  ASSERT_TRUE(store_->AppendLog(*job, 1, {"a"}).ok());
  ASSERT_TRUE(store_->SetRunStatus(r.id, "completed", "success").ok());
  auto deleted = store_->DeleteRunsFinishedBefore(NowMs() + 1000);
  ASSERT_TRUE(deleted.ok()) << deleted.error();
  EXPECT_EQ(*deleted, 1);
  EXPECT_EQ(*store_->CountRuns(), 0);
  EXPECT_EQ(*store_->IntegrityCheck(), "ok");
}

#define GANTRY_STORE_CHECKS(X)                     \
  X(MigratesToTheLatestVersionAndReopens)          \
  X(ProjectsAreUnique)                             \
  X(RunsNumberedPerProjectAndPaged)                \
  X(RunTitlesAndListFilters)                       \
  X(UpgradesRunsStoredBeforeTitles)                \
  X(LogsAppendCompressAndReadBack)                 \
  X(BigStepLogCompressesInPieces)                  \
  X(StepsAnnotationsArtifacts)                     \
  X(TokensAreStoredHashed)                         \
  X(SecretsEncryptedAtRestWithEnvironmentOverride) \
  X(AuditDeliveriesRetentionIntegrity)             \
  X(ApprovalsAndWaitingJobs)

// Each check on SQLite as its own test; on PostgreSQL all checks share one server (each
// on a fresh database), since starting a cluster costs seconds.
#define GANTRY_SQLITE_TEST(name)      \
  TEST(StoreSqlite, name) {           \
    StoreTest t("sqlite");            \
    t.SetUp();                        \
    if (!HasFatalFailure()) t.name(); \
  }
GANTRY_STORE_CHECKS(GANTRY_SQLITE_TEST)

TEST(StorePostgres, AllChecks) {
  if (!Postgres()->installed()) GTEST_SKIP() << Postgres()->why();
  ASSERT_TRUE(Postgres()->available()) << Postgres()->why();
#define GANTRY_PG_CHECK(name)         \
  {                                   \
    SCOPED_TRACE(#name);              \
    StoreTest t("postgres");          \
    t.SetUp();                        \
    if (!HasFatalFailure()) t.name(); \
  }
  GANTRY_STORE_CHECKS(GANTRY_PG_CHECK)
#undef GANTRY_PG_CHECK
}

TEST(Seal, RoundTripAndTamper) {
  std::string key(32, 'k');
  auto sealed = Seal(key, "hello");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*Unseal(key, *sealed), "hello");
  std::string bad = *sealed;
  bad[14] ^= 1;
  EXPECT_FALSE(Unseal(key, bad).ok());
  EXPECT_FALSE(Unseal(std::string(32, 'x'), *sealed).ok());
  EXPECT_FALSE(Unseal(key, "short").ok());
  EXPECT_FALSE(Decompress("garbage").ok());
}

TEST(Store, RefusesUnknownDatabaseUrlsAndUnreachablePostgres) {
  auto dir = MakeTempDir("gantry-store-");
  EXPECT_FALSE(Store::Open(*dir, "mysql://x").ok());
  auto pg = Store::Open(*dir, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.error().find("cannot connect to PostgreSQL"), std::string::npos);
  (void)RemoveAll(*dir);
}

}  // namespace
}  // namespace gantry::store
