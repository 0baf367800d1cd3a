/**
 * Node prints process warnings (deprecations, the AWS SDK's runtime notices) to stderr as plain text, which
 * breaks a JSON log stream. Imported first by main.ts: replaces Node's own printer with a JSON line.
 */
process.removeAllListeners('warning');
process.on('warning', (warning: Error) => {
  const line = {
    level: 'warn',
    time: Date.now(),
    logger: 'process',
    warning: warning.name,
    msg: warning.message.replace(/\s+/g, ' '),
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
});
