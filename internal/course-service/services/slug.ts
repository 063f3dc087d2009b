/** Course slugs: readable, URL-safe, made from the title when the author gives none. */

// Russian is a supported language; without transliteration a Cyrillic title would have an empty slug.
const CYRILLIC: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i', к: 'k', л: 'l', м: 'm',
  н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch',
  ъ: '', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia',
};

/** Leaves room under the 120-character limit for a `-<n>` suffix. */
const BASE_MAX = 100;

export function slugify(title: string): string {
  const ascii = [...title.toLowerCase()]
    .map((ch) => CYRILLIC[ch] ?? ch)
    .join('')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '');
  const slug = ascii
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, BASE_MAX)
    .replace(/-+$/g, '');
  return slug || 'course';
}

/** The next free `base-<n>` given the slugs already taken with that prefix. */
export function nextSlug(base: string, taken: readonly string[]): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  let max = 1;
  const pattern = new RegExp(`^${base}-(\\d{1,9})$`);
  for (const slug of taken) {
    const m = pattern.exec(slug);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `${base}-${max + 1}`;
}
