/**
 * Synthetic catalogue rows for the benchmark loader: a seeded PRNG, word lists, and generators that
 * yield course and review rows as plain objects. Deterministic for a seed and a reference time, so two
 * loads with the same arguments hold the same text, ratings and popularity.
 */
import { slugify } from '../internal/course-service/services/slug.js';

/** mulberry32: small, fast, good enough for test data (not for anything secret). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** 32 random bits as an unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** `k` distinct items (k small compared with the list). */
  sample<T>(items: readonly T[], k: number): T[] {
    const out: T[] = [];
    while (out.length < k) {
      const item = this.pick(items);
      if (!out.includes(item)) out.push(item);
    }
    return out;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A UUID v7 for `ms` with random bits from `rng` (ids then sort by time, as the service's do). */
export function uuidV7(ms: number, rng: Rng): string {
  const t = Math.floor(ms).toString(16).padStart(12, '0');
  const a = rng.u32();
  const b = rng.u32();
  const c = rng.u32();
  const h = (x: number, shift: number) => HEX[(x >>> shift) & 0xff]!;
  return (
    `${t.slice(0, 8)}-${t.slice(8, 12)}-7${((a >>> 20) & 0xfff).toString(16).padStart(3, '0')}-` +
    `${HEX[0x80 | ((a >>> 14) & 0x3f)]}${h(a, 6)}-${h(b, 24)}${h(b, 16)}${h(b, 8)}${h(b, 0)}${h(c, 24)}${h(c, 16)}`
  );
}

export const CATEGORIES = [
  'web-development',
  'data-science',
  'machine-learning',
  'devops',
  'databases',
  'mobile-development',
  'programming-languages',
  'security',
  'cloud-computing',
  'design',
  'business',
  'game-development',
] as const;
export type Category = (typeof CATEGORIES)[number];

interface CategoryWords {
  /** What a course teaches: titles are built around one (sometimes two) of these. */
  subjects: string[];
  /** What the student builds. */
  projects: string[];
  audiences: string[];
  tags: string[];
}

export const CATEGORY_WORDS: Record<Category, CategoryWords> = {
  'web-development': {
    subjects: ['React', 'TypeScript', 'Node.js', 'Vue', 'Angular', 'Next.js', 'CSS Grid', 'HTML and CSS', 'Svelte', 'GraphQL', 'REST APIs', 'Fastify', 'Django', 'Ruby on Rails', 'Web Accessibility'],
    projects: ['a blog engine', 'an online store', 'a chat application', 'a dashboard', 'a booking system', 'a portfolio site'],
    audiences: ['Frontend Developers', 'Full-Stack Developers', 'Beginners', 'Backend Engineers', 'Designers Who Code'],
    tags: ['javascript', 'typescript', 'react', 'nodejs', 'css', 'html', 'frontend', 'backend', 'api', 'graphql', 'vue', 'fullstack'],
  },
  'data-science': {
    subjects: ['Pandas', 'Data Analysis', 'Statistics', 'Data Visualization', 'R', 'SQL for Analysts', 'Jupyter Notebooks', 'Excel Modeling', 'A/B Testing', 'Time Series Analysis', 'Power BI', 'Tableau'],
    projects: ['a sales forecast', 'an analytics report', 'a customer churn study', 'an interactive dashboard', 'a survey analysis'],
    audiences: ['Data Analysts', 'Business Analysts', 'Researchers', 'Beginners', 'Product Managers'],
    tags: ['python', 'pandas', 'statistics', 'sql', 'visualization', 'analytics', 'r', 'excel', 'data-analysis', 'jupyter'],
  },
  'machine-learning': {
    subjects: ['Machine Learning', 'Deep Learning', 'PyTorch', 'TensorFlow', 'Natural Language Processing', 'Computer Vision', 'Reinforcement Learning', 'scikit-learn', 'Large Language Models', 'MLOps', 'Neural Networks', 'Recommender Systems'],
    projects: ['an image classifier', 'a chatbot', 'a recommendation engine', 'a fraud detector', 'a sentiment model'],
    audiences: ['Data Scientists', 'Software Engineers', 'Researchers', 'Beginners', 'ML Engineers'],
    tags: ['python', 'machine-learning', 'deep-learning', 'pytorch', 'tensorflow', 'nlp', 'computer-vision', 'ai', 'llm', 'neural-networks'],
  },
  devops: {
    subjects: ['Docker', 'Kubernetes', 'Terraform', 'Ansible', 'GitHub Actions', 'CI/CD Pipelines', 'Linux Administration', 'Prometheus and Grafana', 'Helm', 'Site Reliability Engineering', 'Bash Scripting', 'GitOps'],
    projects: ['a deployment pipeline', 'a monitoring stack', 'a self-healing cluster', 'an infrastructure module', 'a release process'],
    audiences: ['DevOps Engineers', 'System Administrators', 'Developers', 'SREs', 'Beginners'],
    tags: ['docker', 'kubernetes', 'terraform', 'linux', 'ci-cd', 'devops', 'automation', 'monitoring', 'bash', 'ansible'],
  },
  databases: {
    subjects: ['PostgreSQL', 'MySQL', 'MongoDB', 'Redis', 'SQL', 'Database Design', 'Query Optimization', 'Elasticsearch', 'Cassandra', 'Data Modeling', 'SQLite', 'Data Warehousing'],
    projects: ['a reporting database', 'a high-traffic schema', 'a search index', 'a caching layer', 'a data warehouse'],
    audiences: ['Data Engineers', 'Backend Developers', 'DBAs', 'Analysts', 'Beginners'],
    tags: ['sql', 'postgresql', 'mysql', 'mongodb', 'redis', 'databases', 'performance', 'data-modeling', 'nosql', 'indexing'],
  },
  'mobile-development': {
    subjects: ['Swift', 'SwiftUI', 'Kotlin', 'Jetpack Compose', 'Flutter', 'React Native', 'Android Development', 'iOS Development', 'Dart', 'Mobile UX'],
    projects: ['a fitness tracker', 'a to-do app', 'a weather app', 'a social feed', 'a payment flow'],
    audiences: ['Mobile Developers', 'Web Developers', 'Beginners', 'Startup Founders'],
    tags: ['ios', 'android', 'swift', 'kotlin', 'flutter', 'react-native', 'mobile', 'dart', 'ui'],
  },
  'programming-languages': {
    subjects: ['Python', 'Go', 'Rust', 'Java', 'C++', 'C#', 'JavaScript', 'Haskell', 'Scala', 'Elixir', 'Kotlin', 'Functional Programming', 'Algorithms and Data Structures', 'Concurrency'],
    projects: ['a command-line tool', 'an interpreter', 'a web crawler', 'a game of life', 'a key-value store'],
    audiences: ['Programmers', 'Students', 'Beginners', 'Experienced Developers', 'Interview Candidates'],
    tags: ['python', 'go', 'rust', 'java', 'cpp', 'csharp', 'javascript', 'algorithms', 'functional-programming', 'concurrency'],
  },
  security: {
    subjects: ['Ethical Hacking', 'Web Application Security', 'Network Security', 'Penetration Testing', 'Cryptography', 'OAuth and OpenID Connect', 'Incident Response', 'Malware Analysis', 'Cloud Security', 'Secure Coding'],
    projects: ['a threat model', 'a capture-the-flag lab', 'a hardened server', 'a security audit', 'an authentication service'],
    audiences: ['Security Analysts', 'Developers', 'IT Professionals', 'Beginners', 'Pentesters'],
    tags: ['security', 'hacking', 'pentesting', 'cryptography', 'owasp', 'networking', 'oauth', 'compliance'],
  },
  'cloud-computing': {
    subjects: ['AWS', 'Azure', 'Google Cloud', 'Serverless', 'AWS Lambda', 'Cloud Architecture', 'Microservices', 'Event-Driven Architecture', 'Distributed Systems', 'Cloud Cost Optimization'],
    projects: ['a serverless API', 'a multi-region service', 'a data pipeline', 'a static website', 'an event bus'],
    audiences: ['Cloud Architects', 'Developers', 'Solutions Architects', 'Beginners', 'Certification Candidates'],
    tags: ['aws', 'azure', 'gcp', 'serverless', 'cloud', 'microservices', 'architecture', 'certification'],
  },
  design: {
    subjects: ['UX Design', 'UI Design', 'Figma', 'Design Systems', 'Typography', 'Adobe Photoshop', 'Illustrator', 'Motion Design', 'User Research', 'Color Theory'],
    projects: ['a design system', 'a mobile prototype', 'a brand identity', 'a landing page', 'a usability study'],
    audiences: ['Designers', 'Developers', 'Product Managers', 'Beginners', 'Marketers'],
    tags: ['ux', 'ui', 'figma', 'design', 'prototyping', 'typography', 'photoshop', 'user-research'],
  },
  business: {
    subjects: ['Product Management', 'Agile and Scrum', 'Project Management', 'Digital Marketing', 'SEO', 'Leadership', 'Startup Finance', 'Negotiation', 'Public Speaking', 'Technical Writing'],
    projects: ['a product roadmap', 'a marketing plan', 'a pitch deck', 'a financial model', 'a team charter'],
    audiences: ['Managers', 'Founders', 'Engineers', 'Beginners', 'Team Leads'],
    tags: ['management', 'agile', 'scrum', 'marketing', 'seo', 'leadership', 'startup', 'communication', 'productivity'],
  },
  'game-development': {
    subjects: ['Unity', 'Unreal Engine', 'Godot', 'Game Design', '3D Modeling with Blender', 'Shader Programming', 'Pixel Art', 'Game Physics', 'Multiplayer Networking', 'Level Design'],
    projects: ['a 2D platformer', 'a first-person shooter', 'a puzzle game', 'a racing game', 'a multiplayer arena'],
    audiences: ['Game Developers', 'Artists', 'Hobbyists', 'Beginners', 'Programmers'],
    tags: ['unity', 'unreal', 'godot', 'gamedev', 'csharp', 'cpp', 'blender', '3d', '2d', 'shaders'],
  },
};

const GENERAL_TAGS = ['beginner-friendly', 'hands-on', 'projects', 'best-practices', 'career', 'certification', 'interview-prep', 'open-source', 'testing', 'performance'];

const ADJECTIVES = ['Practical', 'Modern', 'Complete', 'Hands-On', 'Applied', 'Essential', 'Professional', 'Effective', 'Advanced', 'Pragmatic', 'Real-World', 'Intensive'];

const TITLE_TEMPLATES: ((w: { s: string; s2: string; adj: string; aud: string; proj: string; n: number }) => string)[] = [
  (w) => `${w.adj} ${w.s} for ${w.aud}`,
  (w) => `${w.s} from Scratch`,
  (w) => `Mastering ${w.s}`,
  (w) => `${w.s} in ${w.n} Days`,
  (w) => `Introduction to ${w.s}`,
  (w) => `The Complete ${w.s} Bootcamp`,
  (w) => `${w.s} and ${w.s2}: ${w.adj} Guide`,
  (w) => `Building ${w.proj} with ${w.s}`,
  (w) => `${w.s} Masterclass`,
  (w) => `${w.adj} ${w.s}`,
  (w) => `${w.s} Deep Dive for ${w.aud}`,
  (w) => `Learn ${w.s} by Building ${w.proj}`,
];

/** A few titles in the course's own language (the rest of a course's text stays English). */
const LOCAL_TITLES: Record<string, ((s: string) => string)[]> = {
  ru: [(s) => `${s}: практический курс`, (s) => `Основы ${s}`, (s) => `${s} для начинающих`, (s) => `Продвинутый ${s}`],
  de: [(s) => `${s} für Einsteiger`, (s) => `Praxiskurs ${s}`, (s) => `${s} für Fortgeschrittene`],
  es: [(s) => `${s} desde cero`, (s) => `Curso práctico de ${s}`, (s) => `${s} para principiantes`],
};

const SUMMARY_TEMPLATES: ((s: string, proj: string) => string)[] = [
  (s, p) => `Learn ${s} step by step and build ${p} along the way.`,
  (s, p) => `A hands-on course on ${s}: from the first steps to ${p} in production.`,
  (s) => `Everything you need to work confidently with ${s}, with exercises after every lesson.`,
  (s, p) => `Understand how ${s} works under the hood while you build ${p}.`,
  (s) => `Short, focused lessons on ${s} with quizzes, projects and a final assessment.`,
];

const DESCRIPTION_SENTENCES: ((s: string, proj: string, aud: string) => string)[] = [
  (s) => `This course starts with the fundamentals of ${s} and moves on to the patterns used by experienced teams.`,
  (_s, p) => `Over the course of the lessons you will design, build and test ${p}.`,
  (_s, _p, a) => `It is written for ${a.toLowerCase()} who want practical skills rather than theory alone.`,
  (s) => `Each section ends with exercises, and the solutions explain the trade-offs behind every choice in ${s}.`,
  () => `You will learn how to debug problems, measure performance and avoid common mistakes.`,
  () => `No prior experience is required beyond basic computer skills and curiosity.`,
  (s) => `We cover testing, deployment and maintenance, so that your ${s} work holds up in production.`,
  () => `The instructor answers questions in the discussion forum and updates the material regularly.`,
  (_s, p) => `By the end you will have a portfolio project, ${p}, that you can show to employers.`,
  (s) => `Case studies from real companies show where ${s} shines and where another tool is the better fit.`,
  () => `Video lessons are short and come with downloadable notes, code samples and cheat sheets.`,
  () => `Quizzes after each module check your understanding before you move on.`,
];

const FIRST_NAMES = ['Anna', 'Maria', 'Elena', 'Olga', 'Sofia', 'Laura', 'Emma', 'Julia', 'Clara', 'Lucia', 'Hannah', 'Mia', 'Chloe', 'Priya', 'Aiko', 'Fatima', 'Ivan', 'Dmitry', 'Sergey', 'Alexei', 'Lukas', 'Jonas', 'Felix', 'Carlos', 'Diego', 'Javier', 'James', 'John', 'Michael', 'David', 'Daniel', 'Omar', 'Kenji', 'Arjun', 'Noah', 'Liam', 'Ethan', 'Mateo', 'Leon', 'Pavel'];
const LAST_NAMES = ['Smith', 'Johnson', 'Brown', 'Garcia', 'Martinez', 'Lopez', 'Muller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Ivanov', 'Petrov', 'Smirnov', 'Kuznetsova', 'Popova', 'Sokolova', 'Novak', 'Rossi', 'Bianchi', 'Dubois', 'Martin', 'Tanaka', 'Suzuki', 'Sato', 'Kim', 'Lee', 'Park', 'Chen', 'Wang', 'Singh', 'Patel', 'Khan', 'Silva', 'Santos', 'Oliveira', 'Nguyen', 'Wilson', 'Taylor', 'Anderson'];

const REVIEW_TITLES: Record<number, string[]> = {
  5: ['Excellent course', 'Best course on the topic', 'Highly recommended', 'Clear and practical', 'Exactly what I needed', 'Outstanding instructor'],
  4: ['Very good', 'Solid course', 'Good content, a few gaps', 'Worth the time', 'Helpful and well structured'],
  3: ['Okay overall', 'Decent but uneven', 'Good start, needs updates', 'Mixed feelings'],
  2: ['Not what I expected', 'Too basic', 'Outdated material', 'Hard to follow'],
  1: ['Disappointing', 'Waste of time', 'Very outdated', 'Poorly explained'],
};

const REVIEW_SENTENCES: Record<number, string[]> = {
  5: ['The explanations are clear and the exercises really help.', 'I used what I learned at work the very next week.', 'The projects are realistic and well paced.', 'The instructor answers questions quickly and in detail.'],
  4: ['Mostly great, although some sections move a bit fast.', 'Good examples; I would like more advanced exercises.', 'Well structured, with a few videos that could be shorter.'],
  3: ['Some parts are excellent, others feel rushed.', 'The material is fine but could use an update.', 'Useful as an overview, not enough depth for me.'],
  2: ['Many examples no longer work with current versions.', 'The pace is uneven and the exercises are too simple.', 'I expected more practical content.'],
  1: ['The videos are hard to follow and the code does not run.', 'Most of the content is outdated.', 'I could not finish it; the explanations are confusing.'],
};

const RESPONSES = ['Thank you for the feedback!', 'Thanks! The next update addresses this.', 'Glad it helped. More exercises are coming soon.', 'Sorry to hear that; the examples have been updated for the current versions.'];

/** Star shares of all reviews: 1..5. */
export const RATING_SHARES = [0.06, 0.06, 0.13, 0.3, 0.45] as const;

const DAY = 86_400_000;
const YEAR = 365 * DAY;

export interface GenerateOptions {
  users: number;
  courses: number;
  reviews: number;
  seed: number;
  /** Reference "now" (ms): published dates spread over the 3 years before it. */
  now: number;
}

export interface UserRow {
  id: string;
  name: string;
}

export interface CourseRecord {
  id: string;
  slug: string;
  title: string;
  summary: string;
  description: string;
  category: Category;
  tags: string[];
  level: 'beginner' | 'intermediate' | 'advanced';
  language: string;
  durationMinutes: number;
  instructor: number;
  status: 'draft' | 'published' | 'archived';
  publishedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Reviews this course gets. */
  reviewCount: number;
  /** Star shares of this course's reviews (cumulative, 1..5). */
  ratingCdf: number[];
}

export interface ReviewRecord {
  id: string;
  courseId: string;
  authorId: string;
  authorName: string;
  rating: number;
  title: string | null;
  body: string | null;
  status: 'visible' | 'hidden';
  responseBody: string | null;
  respondedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export function makeUsers(options: GenerateOptions, rng: Rng): UserRow[] {
  const users: UserRow[] = [];
  for (let i = 0; i < options.users; i++) {
    const created = options.now - 4 * YEAR + rng.next() * 4 * YEAR;
    users.push({ id: uuidV7(created, rng), name: `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}` });
  }
  return users;
}

/** Instructors: ~2,000 of the users (a fifth when there are fewer), some with many courses. */
export function pickInstructors(userCount: number, rng: Rng): number[] {
  const count = Math.max(1, Math.min(2000, Math.floor(userCount / 5)));
  const perm = Array.from({ length: userCount }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(userCount - i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return perm.slice(0, count);
}

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  let u = rng.next();
  for (const [item, w] of items) {
    if ((u -= w) < 0) return item;
  }
  return items[items.length - 1]![0];
}

/**
 * Review counts per course: a Zipf-like popularity over a random order of the reviewable courses
 * (published or archived), capped below the number of users, scaled to `total` and rounded at random,
 * so a few courses have thousands of reviews, most have a handful and many have none.
 */
function reviewCounts(reviewable: number[], total: number, maxPerCourse: number, rng: Rng): Map<number, number> {
  const n = reviewable.length;
  const counts = new Map<number, number>();
  if (n === 0 || total === 0) return counts;
  const order = [...reviewable];
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const weights = order.map((_, rank) => 1 / Math.pow(rank + 20, 1.2));
  const capacity = Math.min(total, n * maxPerCourse);
  let lo = 0;
  let hi = 1e15;
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    let sum = 0;
    for (const w of weights) sum += Math.min(maxPerCourse, mid * w);
    if (sum < capacity) lo = mid;
    else hi = mid;
  }
  let sum = 0;
  order.forEach((course, rank) => {
    const x = Math.min(maxPerCourse, hi * weights[rank]!);
    const c = Math.floor(x) + (rng.next() < x - Math.floor(x) ? 1 : 0);
    counts.set(course, c);
    sum += c;
  });
  // Random rounding misses the total by a few hundred: settle the difference on random courses.
  while (sum !== capacity) {
    const course = order[rng.int(n)]!;
    const c = counts.get(course)!;
    if (sum < capacity && c < maxPerCourse) {
      counts.set(course, c + 1);
      sum++;
    } else if (sum > capacity && c > 0) {
      counts.set(course, c - 1);
      sum--;
    }
  }
  return counts;
}

const TILT_SIGMA = 0.45;

function tilted(base: readonly number[], tilt: number): number[] {
  const p = base.map((share, i) => share * Math.exp(tilt * (i - 2)));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / total);
}

/**
 * The base shares whose mixture over all course qualities gives RATING_SHARES (tilting spreads the
 * tails, so 1 and 5 stars would come out too often): a few fixed-point steps over a normal quadrature.
 */
const BASE_SHARES: readonly number[] = (() => {
  const points = Array.from({ length: 81 }, (_, i) => -4 + i * 0.1);
  const weights = points.map((z) => Math.exp((-z * z) / 2));
  const wsum = weights.reduce((a, b) => a + b, 0);
  let base: number[] = [...RATING_SHARES];
  for (let it = 0; it < 50; it++) {
    const mix = [0, 0, 0, 0, 0];
    points.forEach((z, k) => tilted(base, z * TILT_SIGMA).forEach((x, i) => (mix[i]! += (x * weights[k]!) / wsum)));
    base = base.map((b, i) => b * (RATING_SHARES[i]! / mix[i]!));
    const total = base.reduce((a, b) => a + b, 0);
    base = base.map((b) => b / total);
  }
  return base;
})();

/** A course's own star shares: the platform's shares tilted towards better or worse (its quality). */
function ratingCdf(rng: Rng): number[] {
  let acc = 0;
  return tilted(BASE_SHARES, rng.normal() * TILT_SIGMA).map((x) => (acc += x));
}

export function makeCourses(options: GenerateOptions, users: UserRow[], instructors: number[], rng: Rng): CourseRecord[] {
  const slugs = new Map<string, number>();
  const courses: CourseRecord[] = [];
  for (let i = 0; i < options.courses; i++) {
    const category = rng.pick(CATEGORIES);
    const words = CATEGORY_WORDS[category];
    const s = rng.pick(words.subjects);
    let s2 = rng.pick(words.subjects);
    if (s2 === s) s2 = words.subjects[(words.subjects.indexOf(s) + 1) % words.subjects.length]!;
    const proj = rng.pick(words.projects);
    const aud = rng.pick(words.audiences);
    const language = weighted(rng, [['en', 0.7], ['ru', 0.1], ['de', 0.1], ['es', 0.1]] as const);
    const local = LOCAL_TITLES[language];
    const title =
      local && rng.next() < 0.5
        ? rng.pick(local)(s)
        : rng.pick(TITLE_TEMPLATES)({ s, s2, adj: rng.pick(ADJECTIVES), aud, proj: proj.replace(/^an? /, ''), n: rng.pick([7, 10, 14, 21, 30]) });
    const base = slugify(title);
    const seen = slugs.get(base) ?? 0;
    slugs.set(base, seen + 1);
    const slug = seen === 0 ? base : `${base}-${seen + 1}`;

    const tags = [...rng.sample(words.tags, 2 + rng.int(3)), ...(rng.next() < 0.4 ? [rng.pick(GENERAL_TAGS)] : [])];
    const sentences = rng.sample(DESCRIPTION_SENTENCES, 4 + rng.int(5)).map((f) => f(s, proj, aud));
    const status = weighted(rng, [['published', 0.9], ['draft', 0.07], ['archived', 0.03]] as const);
    const publishedAt = status === 'draft' ? null : Math.floor(options.now - rng.next() * 3 * YEAR);
    const createdAt = Math.floor((publishedAt ?? options.now - rng.next() * 3 * YEAR) - rng.next() * 60 * DAY);
    const updatedAt = Math.min(options.now, Math.floor((publishedAt ?? createdAt) + rng.next() * 120 * DAY));
    // Some instructors teach far more courses than others.
    const instructor = instructors[Math.floor(instructors.length * Math.pow(rng.next(), 1.6))]!;
    courses.push({
      id: uuidV7(createdAt, rng),
      slug,
      title,
      summary: rng.pick(SUMMARY_TEMPLATES)(s, proj),
      description: sentences.join(' '),
      category,
      tags: [...new Set(tags)],
      level: weighted(rng, [['beginner', 0.45], ['intermediate', 0.35], ['advanced', 0.2]] as const),
      language,
      durationMinutes: 30 + 15 * rng.int(1 + Math.floor(Math.pow(rng.next(), 2) * 200)),
      instructor,
      status,
      publishedAt,
      createdAt,
      updatedAt,
      reviewCount: 0,
      ratingCdf: ratingCdf(rng),
    });
  }
  const reviewable = courses.flatMap((c, i) => (c.status === 'draft' ? [] : [i]));
  // An instructor may not review their own course, so one user fewer than all is the ceiling.
  const maxPerCourse = Math.max(0, Math.min(8000, Math.floor(users.length * 0.8), users.length - 1));
  for (const [index, count] of reviewCounts(reviewable, options.reviews, maxPerCourse, rng)) courses[index]!.reviewCount = count;
  return courses;
}

/**
 * Every review, in the order they were written (so the heap and the UUID v7 keys are in time order,
 * as a live service would leave them). Authors are distinct per course and never the instructor.
 */
export function* makeReviews(options: GenerateOptions, users: UserRow[], courses: CourseRecord[], rng: Rng): Generator<ReviewRecord> {
  const total = courses.reduce((a, c) => a + c.reviewCount, 0);
  const courseOf = new Int32Array(total);
  const authorOf = new Int32Array(total);
  const created = new Float64Array(total);
  const ratingOf = new Int8Array(total);
  // A persistent permutation of users: each course takes a prefix after a partial Fisher-Yates.
  const perm = Int32Array.from({ length: users.length }, (_, i) => i);
  let k = 0;
  courses.forEach((course, ci) => {
    const n = course.reviewCount;
    if (n === 0) return;
    let taken = 0;
    for (let i = 0; taken < n && i < perm.length; i++) {
      const j = i + rng.int(perm.length - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
      const author = perm[i]!;
      if (author === course.instructor) continue;
      const from = course.publishedAt!;
      // Reviews arrive over the whole time since publication, more of them early on.
      const at = from + Math.pow(rng.next(), 1.3) * (options.now - from);
      const u = rng.next();
      const rating = 1 + course.ratingCdf.findIndex((c) => u < c);
      courseOf[k] = ci;
      authorOf[k] = author;
      created[k] = Math.floor(at);
      ratingOf[k] = rating === 0 ? 5 : rating;
      k++;
      taken++;
    }
  });
  const order = Uint32Array.from({ length: k }, (_, i) => i).sort((a, b) => created[a]! - created[b]!);
  for (let i = 0; i < k; i++) {
    const r = order[i]!;
    const course = courses[courseOf[r]!]!;
    const author = users[authorOf[r]!]!;
    const rating = ratingOf[r]!;
    const createdAt = created[r]!;
    const edited = rng.next() < 0.1 ? Math.min(options.now, createdAt + rng.next() * 30 * DAY) : createdAt;
    const responded = rng.next() < 0.08 ? Math.min(options.now, createdAt + rng.next() * 14 * DAY) : null;
    yield {
      id: uuidV7(createdAt, rng),
      courseId: course.id,
      authorId: author.id,
      authorName: author.name,
      rating,
      title: rng.next() < 0.7 ? rng.pick(REVIEW_TITLES[rating]!) : null,
      body: rng.next() < 0.8 ? rng.sample(REVIEW_SENTENCES[rating]!, 1 + rng.int(2)).join(' ') : null,
      status: rng.next() < 0.02 ? 'hidden' : 'visible',
      responseBody: responded === null ? null : rng.pick(RESPONSES),
      respondedAt: responded === null ? null : Math.floor(responded),
      createdAt,
      updatedAt: Math.floor(edited),
    };
  }
}
