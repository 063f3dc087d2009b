import { Type, type Static } from '@sinclair/typebox';

export const CategorySchema = Type.Object({
  name: Type.String(),
  courseCount: Type.Integer({ minimum: 0, description: 'Published courses in this category' }),
});
export type CategoryDto = Static<typeof CategorySchema>;

export const CategoryListSchema = Type.Object({ items: Type.Array(CategorySchema) });
export type CategoryList = Static<typeof CategoryListSchema>;
