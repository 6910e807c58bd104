/**
 * The seed's client code (seed/updates-system.ru.md, «Получение Updates → Через RabbitMQ»), as it
 * stands: only wrapped in a function so a test can pass the broker URL, the user and a handler.
 * Do not "improve" it: the point is that unchanged client code works.
 */
import amqp from 'amqplib';

export async function subscribeAsTheSeedDoes(url: string, userId: string, userType: string, handleUpdate: (update: any) => void) {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();

  const queueName = `user_${userId}_updates`;
  await channel.assertQueue(queueName, {
    durable: true,
    arguments: { 'x-message-ttl': 3600000 },
  });

  // Подписка на все обновления пользователя
  await channel.bindQueue(queueName, 'chat3_updates', `update.*.${userType}.${userId}.*`);

  channel.consume(queueName, (msg) => {
    if (msg) {
      const update = JSON.parse(msg.content.toString());
      handleUpdate(update);
      channel.ack(msg);
    }
  });

  return {
    queueName,
    async close() {
      await channel.deleteQueue(queueName);
      await connection.close();
    },
  };
}
