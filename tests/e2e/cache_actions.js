// Drives GitHub's own @actions/cache client (v1 protocol) against Gantry's cache service:
// save, restore by restore-key prefix, miss, immutability; contents compared byte for byte.
const cache = require('@actions/cache');
const crypto = require('crypto');
const fs = require('fs');

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exit(1);
}

(async () => {
  fs.mkdirSync('deps/sub', {recursive: true});
  fs.writeFileSync('deps/sub/a.txt', 'hello cache\n');
  const big = crypto.randomBytes(3 * 1024 * 1024);
  fs.writeFileSync('deps/big.bin', big);

  const id = await cache.saveCache(['deps'], 'npm-linux-abc');
  if (!(id > 0)) fail('saveCache returned ' + id);

  fs.rmSync('deps', {recursive: true});
  const hit = await cache.restoreCache(['deps'], 'npm-linux-zzz', ['npm-linux-']);
  if (hit !== 'npm-linux-abc') fail('restore-key prefix: got ' + hit);
  if (fs.readFileSync('deps/sub/a.txt', 'utf8') !== 'hello cache\n') fail('a.txt differs');
  if (!fs.readFileSync('deps/big.bin').equals(big)) fail('big.bin differs');

  const exact = await cache.restoreCache(['deps'], 'npm-linux-abc');
  if (exact !== 'npm-linux-abc') fail('exact key: got ' + exact);
  const miss = await cache.restoreCache(['deps'], 'pip-linux-abc', ['pip-']);
  if (miss !== undefined) fail('expected a miss, got ' + miss);

  let again;
  try {
    again = await cache.saveCache(['deps'], 'npm-linux-abc');
  } catch (e) {
    again = -1;
  }
  if (again > 0) fail('saving an existing key again was accepted');
  console.log('PASS @actions/cache save/restore against gantry');
})().catch((e) => fail(e.stack || String(e)));
