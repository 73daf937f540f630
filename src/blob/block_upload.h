// Azure block-blob style uploads, as @actions/artifact v2 and @actions/cache v2 send them to a
// signed URL: blocks staged by id (`PUT ?comp=block&blockid=`), in any order and concurrently,
// then made one blob by a block list (`PUT ?comp=blocklist`, an XML body), or the whole blob
// in one `PUT` (x-ms-blob-type: BlockBlob). Staged blocks are files, so memory stays bounded;
// the result is committed to the blob store with its digest computed there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blob/blob_store.h"

namespace gantry::blob {

struct BlockLimits {
  uint64_t max_block_bytes = 256ull << 20;  // the clients send 4-8 MiB blocks
  uint64_t max_blocks = 50000;              // Azure's limit
  uint64_t max_list_bytes = 8ull << 20;     // the XML block list
  uint64_t max_total_bytes = 16ull << 30;
};

// Parses `<?xml ...?><BlockList><Latest|Committed|Uncommitted>ID</...>...</BlockList>` into
// the ids in order. Errors say "blocklist:line:col: what is wrong".
Result<std::vector<std::string>> ParseBlockList(std::string_view xml, const BlockLimits& limits = {});

// A block id is base64 of at most 64 bytes (Azure's rule); all ids of a blob have one length.
Status CheckBlockId(std::string_view id);

class BlockUploads {
 public:
  // Staged blocks live in `dir`/<upload>/<hex of id>.
  BlockUploads(BlobStore& store, std::string dir, BlockLimits limits = {});

  // `upload` names one target (a signed URL's id: [A-Za-z0-9_-], at most 128 characters).
  Status StageBlock(const std::string& upload, const std::string& block_id, const ReadFn& read);
  // Concatenates the listed blocks into a committed blob and drops the staged ones.
  Result<BlobInfo> CommitBlockList(const std::string& upload, const std::vector<std::string>& ids);
  // The whole blob in one request.
  Result<BlobInfo> PutWhole(const ReadFn& read);
  void Discard(const std::string& upload);

 private:
  BlobStore& store_;
  std::string dir_;
  BlockLimits limits_;
};

}  // namespace gantry::blob
