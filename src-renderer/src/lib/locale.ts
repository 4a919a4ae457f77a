/** Languages written right to left (primary subtag of a BCP 47 tag). */
const RTL_LANGUAGES = new Set(['ar', 'he', 'iw', 'fa', 'ur', 'ps', 'sd', 'ug', 'yi', 'dv', 'ckb']);

/** A locale Intl accepts, or `en` for anything it rejects. */
export function safeLocale(tag: string): string {
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? 'en';
  } catch {
    return 'en';
  }
}

export function directionOf(locale: string): 'ltr' | 'rtl' {
  const primary = locale.split('-')[0]?.toLowerCase() ?? '';
  return RTL_LANGUAGES.has(primary) ? 'rtl' : 'ltr';
}

/** The renderer's own few words (operator texts come with the document). */
interface Strings {
  measured: string;
  staleSince: string;
  /** The mark of a level the panel measured itself (backend away). */
  ownMeasurement: string;
}

// `staleSince` precedes the time: the core's `stale.since` is when the content stopped being
// confirmed, so "not updated since" is true whatever the freshness window was.
const STRINGS: Record<string, Strings> = {
  en: { measured: 'Measured', staleSince: 'Not updated since', ownMeasurement: 'Measured by this panel' },
  fr: { measured: 'Mesuré à', staleSince: 'Pas de mise à jour depuis', ownMeasurement: 'Mesure de ce panneau' },
  nl: { measured: 'Gemeten', staleSince: 'Niet bijgewerkt sinds', ownMeasurement: 'Meting van dit paneel' },
  de: { measured: 'Gemessen', staleSince: 'Nicht aktualisiert seit', ownMeasurement: 'Messung dieser Tafel' },
  es: { measured: 'Medido', staleSince: 'Sin actualizar desde', ownMeasurement: 'Medición de este panel' },
  it: { measured: 'Misurato', staleSince: 'Non aggiornato dal', ownMeasurement: 'Misura di questo pannello' },
  ar: { measured: 'وقت القياس', staleSince: 'لم يُحدَّث منذ', ownMeasurement: 'قياس هذه اللوحة' },
  he: { measured: 'נמדד', staleSince: 'לא עודכן מאז', ownMeasurement: 'מדידה של שלט זה' },
};

export function stringsFor(locale: string): Strings {
  const primary = locale.split('-')[0]?.toLowerCase() ?? 'en';
  return STRINGS[primary] ?? STRINGS[primary === 'iw' ? 'he' : 'en']!;
}

/**
 * A time for passers-by: `14:05` (or `2:05 PM`, as the locale writes it) when it is today,
 * with the day and month otherwise. Empty for an unparseable timestamp.
 */
export function formatTime(iso: string, locale: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const sameDay = date.toDateString() === now.toDateString();
  const options: Intl.DateTimeFormatOptions = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, options).format(date);
}

/** A concentration in µg/m³: one decimal below 10, whole numbers above. */
export function formatConcentration(value: number, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: value < 10 ? 1 : 0 }).format(value);
}
