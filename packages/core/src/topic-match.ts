/**
 * AMQP topic matching as RabbitMQ does it, for tests of keys and bindings without a broker: words are
 * separated by `.`; in the binding a word that is exactly `*` matches one word and `#` matches zero or
 * more; every other word matches literally.
 */
export function topicMatches(binding: string, routingKey: string): boolean {
  const pattern = binding.split('.');
  const words = routingKey.split('.');
  const match = (p: number, w: number): boolean => {
    if (p === pattern.length) return w === words.length;
    const token = pattern[p];
    if (token === '#') {
      for (let skip = w; skip <= words.length; skip++) if (match(p + 1, skip)) return true;
      return false;
    }
    if (w === words.length) return false;
    return (token === '*' || token === words[w]) && match(p + 1, w + 1);
  };
  return match(0, 0);
}
