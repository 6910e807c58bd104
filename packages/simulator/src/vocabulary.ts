/** Words the simulator fills names and message bodies with. Order matters: the PRNG indexes into it. */

export const FIRST_NAMES = [
  'Carl',
  'Alice',
  'Boris',
  'Dana',
  'Egor',
  'Fatima',
  'Gleb',
  'Hana',
  'Igor',
  'Julia',
  'Kirill',
  'Lena',
  'Maxim',
  'Nina',
  'Oleg',
  'Polina',
  'Roman',
  'Sofia',
  'Timur',
  'Ulyana',
  'Vera',
  'Wang',
  'Yuri',
  'Zoe',
] as const;

export const LAST_NAMES = ['Johnson', 'Ivanova', 'Smirnov', 'Garcia', 'Kuznetsov', 'Novak', 'Sato', 'Müller', 'Popova', 'Okafor'] as const;

export const BOT_ROLES = ['Support', 'Reminder', 'Weather', 'Deploy', 'Survey', 'Translator'] as const;

export const DIALOG_TOPICS = [
  'VIP чат',
  'Project Apollo',
  'Support',
  'Weekend plans',
  'Design review',
  'Family',
  'Release 3.1',
  'Onboarding',
  'Sales EMEA',
  'Incident room',
  'Book club',
  'Random',
] as const;

export const PHRASES = [
  'Hello!',
  'Привет!',
  'See you at 5',
  'Can you check the latest build?',
  'Thanks 🙏',
  'On my way',
  'Let me think about it',
  'Done ✅',
  'Who is joining the call?',
  'Отлично, спасибо',
  'LGTM',
  'The invoice is attached',
  'Ping me when you are free',
  'Happy birthday! 🎉',
  'Sounds good',
] as const;

export const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🔥', '👀'] as const;

export const PRESENCE = ['online', 'away', 'busy', 'offline'] as const;
