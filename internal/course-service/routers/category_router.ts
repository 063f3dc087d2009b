/** GET /api/v1/categories: categories with counts of published courses, through the response cache. */
import type { App } from '../../shared/server.js';
import type { CourseController } from '../controllers/course_controller.js';
import { CategoryListSchema } from '../models/category.js';
import { CacheScopes } from '../services/cache/cache_scopes.js';
import { cachedAnswer, NotModified, type ResponseCache } from '../middleware/response_cache.js';

export function categoryRouter(app: App, courses: CourseController, responses: ResponseCache): void {
  app.get('/api/v1/categories', {
    schema: {
      tags: ['categories'],
      summary: 'Categories with their numbers of published courses',
      description: 'The same for every caller, so it always goes through the response cache (`X-Cache: HIT|MISS`).',
      response: { 200: cachedAnswer(CategoryListSchema, 'All categories (never paged)'), 304: NotModified },
    },
  }, responses.route({ ttl: 'categories', perViewer: false, scopes: () => CacheScopes.categoriesRead() }, courses.categories));
}
