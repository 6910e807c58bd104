import { runScenario, namedScenario } from '../packages/fault-sim/src/index';
const s = namedScenario('failover-rollback')!;
await runScenario(s, '1', {
  keepLogs: true,
  inspect: (world) =>
    console.log(
      world.logs
        .filter((l) => /DEBUG|sweep/.test(l))
        .slice(0, 20)
        .join('\n'),
    ),
});
