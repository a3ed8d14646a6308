import { component, pipeline, onExit, z } from 'lathe';
export const flaky = component({
  name: 'flaky',
  async run({ task, log }) {
    log(`running attempt ${task.attempt}`);
    if (task.attempt === 1) throw new Error('boom');
    log(`attempt ${task.attempt} did real work after cancel`);
  },
});
export const notify = component({ name: 'notify', params: { status: z.string() }, async run({ params, log }) { log(`exit handler sees ${params.status}`); } });
export default pipeline({ name: 'retrycancel' }, () => {
  flaky({}).retry({ attempts: 3, backoff: '3s' });
  onExit(notify({ status: '{{run.status}}' }));
});
