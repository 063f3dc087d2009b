import { Type, type Static } from '@sinclair/typebox';

export const CategorySchema = Type.Object({
  name: Type.String(),
  courseCount: Type.Integer({ minimum: 0, description: 'Published courses in this category' }),
});
export type CategoryDto = Static<typeof CategorySchema>;

/** The list shape every list answer has; categories are few, so there is never a next page. */
export const CategoryListSchema = Type.Object({ items: Type.Array(CategorySchema), nextCursor: Type.Null() });
export type CategoryList = Static<typeof CategoryListSchema>;
