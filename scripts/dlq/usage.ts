/** The `pnpm dlq` usage text (also printed by `--help`); `command` is how the tool was started (`toolCommand`). */
export const dlqUsage = (command: string) => `${command} <command> [flags]: inspect and replay the builder's dead letters

The queue is <BUILDER_QUEUE>.dlq; requeued letters go to RABBITMQ_EVENTS_EXCHANGE.

Commands:
  list                      count the letters by reason, with the first and last of each
                            (reads without consuming: the queue is left exactly as it was)
  show <n | id>             one letter with its properties, headers and body; n = its position
                            (1 = the oldest), id = its AMQP messageId or the body's eventId
  requeue [flags]           publish letters back to the events exchange with their original routing
                            key, adding x-chat3-requeue-count; a letter leaves the DLQ only after the
                            broker confirmed its requeue
      --reason R            only letters with this reason (repeat it, or R1,R2)
      --limit N             at most N letters
      --dry-run             count what would be requeued; change nothing
  purge --confirm <queue>   delete every letter; without --confirm naming the queue, it refuses and
                            says how many letters would be lost
  help, --help              this text

Environment: RABBITMQ_URL (amqp://localhost:5672), BUILDER_QUEUE (chat3_update_builder),
RABBITMQ_EVENTS_EXCHANGE (chat3_events), DLQ_CONFIRM_TIMEOUT_MS (15000).
Exit codes: 0 done; 1 failed while running (nothing is lost: letters not requeued stay in the DLQ);
2 usage (a bad flag or value, a bad environment, a missing queue or exchange, purge not confirmed).
`;
