const fs = require('fs');
const who = process.env['INPUT_WHO-TO-GREET'];
if (!who) { console.log('::error::input who-to-greet missing'); process.exit(1); }
console.log(`Hello ${who}!`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `time=${new Date().toISOString()}\n`);
fs.appendFileSync(process.env.GITHUB_STATE, `greeted=${who}\n`);
