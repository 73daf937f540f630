if (process.env.STATE_greeted !== 'Mona the Octocat') { console.log('::error::state not passed to post'); process.exit(1); }
console.log(`post: greeted ${process.env.STATE_greeted}`);
