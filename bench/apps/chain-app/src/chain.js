// Benchmark app for `npm run bench:host`: a chain of ten activities. Each activity reports how long
// after the orchestrator's decision it started (the orchestrator passes its episode time, which is
// deterministic; the activity may read the wall clock).
const df = require('durable-functions');

df.app.activity('step', {
  handler: (input) => ({ i: input.i, dispatchMs: Date.now() - input.decidedAt }),
});

df.app.orchestration('chain10', function* (context) {
  const latencies = [];
  for (let i = 0; i < 10; i++) {
    const r = yield context.df.callActivity('step', { i, decidedAt: context.df.currentUtcDateTime.getTime() });
    latencies.push(r.dispatchMs);
  }
  return latencies;
});
