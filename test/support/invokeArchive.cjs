// Runs a deployment archive's handler the way the Lambda runtime does: require __index.js from the archive
// folder, call exports.handler with the event file given as argv[3], print the result as JSON.
const { readFileSync } = require("fs");
const { join } = require("path");

const [, , archiveDir, eventFile] = process.argv;
const { handler } = require(join(archiveDir, "__index.js"));
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const deadline = Date.now() + 30000;
handler(event, { getRemainingTimeInMillis: () => deadline - Date.now() }, () => undefined).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  },
);
