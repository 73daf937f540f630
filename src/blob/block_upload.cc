#include "blob/block_upload.h"

#include <fstream>

#include "base/base64.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace gantry::blob {

namespace {

std::string Where(std::string_view text, size_t offset) { return TextPosition("blocklist", text, offset) + ": "; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool ValidUpload(std::string_view u) {
  if (u.empty() || u.size() > 128) return false;
  for (char c : u) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status CheckBlockId(std::string_view id) {
  if (id.empty() || id.size() > 88) return Status::Error("block id must be 1..64 bytes in base64");
  auto raw = Base64UrlDecode(id);
  if (!raw || raw->empty() || raw->size() > 64) return Status::Error("block id is not base64 of 1..64 bytes");
  return Status::Ok();
}

Result<std::vector<std::string>> ParseBlockList(std::string_view xml, const BlockLimits& limits) {
  using R = Result<std::vector<std::string>>;
  if (xml.size() > limits.max_list_bytes) {
    return R::Error("blocklist:1:1: longer than " + std::to_string(limits.max_list_bytes) + " bytes");
  }
  size_t i = 0;
  auto skip_space = [&] {
    while (i < xml.size() && IsSpace(xml[i])) ++i;
  };
  // Reads "<name>" or "</name>" (no attributes); returns the name, with '/' first for a close.
  auto tag = [&](std::string* out) -> Status {
    skip_space();
    if (i >= xml.size() || xml[i] != '<') return Status::Error(Where(xml, i) + "expected a tag");
    size_t end = xml.find('>', i);
    if (end == std::string_view::npos) return Status::Error(Where(xml, i) + "unterminated tag");
    *out = std::string(xml.substr(i + 1, end - i - 1));
    while (!out->empty() && IsSpace(out->back())) out->pop_back();
    i = end + 1;
    return Status::Ok();
  };
  skip_space();
  if (xml.substr(i, 5) == "<?xml") {
    size_t end = xml.find("?>", i);
    if (end == std::string_view::npos) return R::Error(Where(xml, i) + "unterminated XML declaration");
    i = end + 2;
  }
  std::string name;
  if (auto st = tag(&name); !st.ok()) return R::Error(st.message());
  if (name != "BlockList") return R::Error(Where(xml, i) + "expected <BlockList>, got <" + name.substr(0, 40) + ">");
  std::vector<std::string> ids;
  for (;;) {
    size_t at = i;
    if (auto st = tag(&name); !st.ok()) return R::Error(st.message());
    if (name == "/BlockList") break;
    if (name != "Latest" && name != "Committed" && name != "Uncommitted") {
      return R::Error(Where(xml, at) + "expected <Latest>, <Committed> or <Uncommitted>, got <" + name.substr(0, 40) +
                      ">");
    }
    size_t end = xml.find('<', i);
    if (end == std::string_view::npos) return R::Error(Where(xml, i) + "unterminated block id");
    std::string id(xml.substr(i, end - i));
    if (auto st = CheckBlockId(id); !st.ok()) return R::Error(Where(xml, i) + st.message());
    if (!ids.empty() && ids.front().size() != id.size()) {
      return R::Error(Where(xml, i) + "block ids of one blob must have the same length");
    }
    i = end;
    std::string close;
    if (auto st = tag(&close); !st.ok()) return R::Error(st.message());
    if (close != "/" + name) return R::Error(Where(xml, end) + "expected </" + name + ">");
    if (ids.size() >= limits.max_blocks) {
      return R::Error(Where(xml, at) + "more than " + std::to_string(limits.max_blocks) + " blocks");
    }
    ids.push_back(std::move(id));
  }
  skip_space();
  if (i != xml.size()) return R::Error(Where(xml, i) + "unexpected content after </BlockList>");
  return ids;
}

BlockUploads::BlockUploads(BlobStore& store, std::string dir, BlockLimits limits)
    : store_(store), dir_(std::move(dir)), limits_(limits) {}

Status BlockUploads::StageBlock(const std::string& upload, const std::string& block_id, const ReadFn& read) {
  if (!ValidUpload(upload)) return Status::Error("bad upload id");
  if (auto st = CheckBlockId(block_id); !st.ok()) return st;
  std::string dir = dir_ + "/" + upload;
  if (auto st = MakeDirs(dir); !st.ok()) return st;
  std::string path = dir + "/" + Sha256Hex(block_id);
  std::string tmp = path + ".part";
  uint64_t total = 0;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    std::string buf(1 << 20, '\0');
    for (;;) {
      long long n = read(buf.data(), buf.size());
      if (n < 0) {
        (void)RemoveAll(tmp);
        return Status::Error("the block upload broke off");
      }
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
      if (total > limits_.max_block_bytes) {
        (void)RemoveAll(tmp);
        return Status::Error("a block may be at most " + std::to_string(limits_.max_block_bytes) + " bytes");
      }
      out.write(buf.data(), n);
    }
    if (!out.flush()) return Status::Error("cannot write block " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::Error("cannot store block");
  return Status::Ok();
}

Result<BlobInfo> BlockUploads::CommitBlockList(const std::string& upload, const std::vector<std::string>& ids) {
  using R = Result<BlobInfo>;
  if (!ValidUpload(upload)) return R::Error("bad upload id");
  auto id = store_.BeginUpload();
  if (!id.ok()) return R::Error(id.error());
  for (size_t k = 0; k < ids.size(); ++k) {
    std::string path = dir_ + "/" + upload + "/" + Sha256Hex(ids[k]);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      (void)store_.CancelUpload(*id);
      return R::Error("block " + std::to_string(k + 1) + " ('" + ids[k] + "') was never staged");
    }
    ReadFn read = [&in](char* b, size_t n) -> long long {
      in.read(b, static_cast<std::streamsize>(n));
      return in.bad() ? -1 : in.gcount();
    };
    if (auto n = store_.Append(*id, read, limits_.max_total_bytes); !n.ok()) {
      (void)store_.CancelUpload(*id);
      return R::Error(n.error());
    }
  }
  auto info = store_.Commit(*id, "");
  if (info.ok()) Discard(upload);
  return info;
}

Result<BlobInfo> BlockUploads::PutWhole(const ReadFn& read) {
  auto id = store_.BeginUpload();
  if (!id.ok()) return Result<BlobInfo>::Error(id.error());
  if (auto n = store_.Append(*id, read, limits_.max_total_bytes); !n.ok()) {
    (void)store_.CancelUpload(*id);
    return Result<BlobInfo>::Error(n.error());
  }
  return store_.Commit(*id, "");
}

void BlockUploads::Discard(const std::string& upload) {
  if (ValidUpload(upload)) (void)RemoveAll(dir_ + "/" + upload);
}

}  // namespace gantry::blob
