/** A node of `EXPLAIN (FORMAT JSON)` output and a walk of its tree: shared by the plan checks of bench/ and test/. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

/** The plan's nodes, the root first, depth first. */
export const planNodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(planNodes)];
