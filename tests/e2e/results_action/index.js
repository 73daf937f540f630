// A JavaScript action built on GitHub's own client libraries (@actions/artifact v2, Twirp +
// block-blob uploads; @actions/cache v2 CacheService), run by Gantry with the env a runner
// sets (ACTIONS_RESULTS_URL, ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_SERVICE_V2). Phase "upload"
// writes files, uploads them as an artifact and saves a cache; phase "download" (a later job)
// gets both back and compares bytes with the digests the first phase printed to a file.
const {DefaultArtifactClient} = require('@actions/artifact');
const cache = require('@actions/cache');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function fail(msg) {
  console.log('FAIL: ' + msg);
  console.log('::error::' + msg.split('\n')[0]);
  process.exit(1);
}
const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

(async () => {
  const phase = process.env.INPUT_PHASE || 'upload';
  const ws = process.env.GITHUB_WORKSPACE;
  const client = new DefaultArtifactClient();
  if (phase === 'upload') {
    const dir = path.join(ws, 'payload');
    fs.mkdirSync(path.join(dir, 'sub'), {recursive: true});
    fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello from @actions/artifact\n');
    // Larger than one upload block (8 MiB chunks) so the block list path is used.
    fs.writeFileSync(path.join(dir, 'sub', 'big.bin'), crypto.randomBytes(9 * 1024 * 1024));
    const files = ['hello.txt', 'sub/big.bin'].map((f) => path.join(dir, f));
    const up = await client.uploadArtifact('js-artifact', files, dir, {retentionDays: 2});
    if (!(up.id > 0) || !(up.size > 0)) fail('uploadArtifact returned ' + JSON.stringify(up));
    let dup = false;
    try {
      await client.uploadArtifact('js-artifact', files, dir);
    } catch (e) {
      dup = true;
    }
    if (!dup) fail('uploading the same artifact name twice was accepted');
    const list = await client.listArtifacts();
    if (!list.artifacts.some((a) => a.name === 'js-artifact' && a.id === up.id)) {
      fail('listArtifacts: ' + JSON.stringify(list));
    }
    fs.mkdirSync(path.join(ws, 'deps'), {recursive: true});
    fs.writeFileSync(path.join(ws, 'deps', 'lib.bin'), crypto.randomBytes(300000));
    const id = await cache.saveCache(['deps'], 'deps-v2-abc');
    if (!(id > 0)) fail('saveCache returned ' + id);
    fs.writeFileSync(
        process.env.RESULTS_DIGESTS, JSON.stringify({big: sha(files[1]), lib: sha(path.join(ws, 'deps', 'lib.bin'))}));
    console.log('PASS upload phase: artifact ' + up.id + ' (' + up.size + ' bytes), cache ' + id);
    return;
  }
  const want = JSON.parse(fs.readFileSync(process.env.RESULTS_DIGESTS, 'utf8'));
  const {artifact} = await client.getArtifact('js-artifact');
  const out = path.join(ws, 'got');
  const dl = await client.downloadArtifact(artifact.id, {path: out});
  if (dl.downloadPath !== out) fail('downloadArtifact: ' + JSON.stringify(dl));
  if (fs.readFileSync(path.join(out, 'hello.txt'), 'utf8') !== 'hello from @actions/artifact\n') fail('hello.txt');
  if (sha(path.join(out, 'sub', 'big.bin')) !== want.big) fail('big.bin differs after the round trip');
  const hit = await cache.restoreCache(['deps'], 'deps-v2-zzz', ['deps-v2-']);
  if (hit !== 'deps-v2-abc') fail('restoreCache by prefix: got ' + hit);
  if (sha(path.join(ws, 'deps', 'lib.bin')) !== want.lib) fail('cached lib.bin differs');
  const miss = await cache.restoreCache(['deps'], 'other-key');
  if (miss !== undefined) fail('expected a cache miss, got ' + miss);
  await client.deleteArtifact('js-artifact');
  const after = await client.listArtifacts();
  if (after.artifacts.some((a) => a.name === 'js-artifact')) fail('deleteArtifact left it listed');
  console.log('PASS download phase: artifact and cache came back bit-identical');
})().catch((e) => fail(e.stack || String(e)));
