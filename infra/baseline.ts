import * as pulumi from "@pulumi/pulumi";

// The moment of the stack's first deploy, kept in the stack's state: findings that open alerts within the
// baseline hours after it are the backlog the stack found, paged at low urgency. A later `pulumi up` keeps the
// moment; changing the hours only moves the end of the window. Destroying the stack forgets it.

export interface BaselineInputs {
  baselineHours: number;
}

export interface BaselineOutputs extends BaselineInputs {
  /** ISO 8601: when the stack was first deployed. */
  deployedAt: string;
}

export const baselineProvider: pulumi.dynamic.ResourceProvider = {
  create(inputs: BaselineInputs) {
    const deployedAt = new Date().toISOString();
    const outs: BaselineOutputs = { ...inputs, deployedAt };
    return Promise.resolve({ id: `baseline-${deployedAt}`, outs });
  },
  diff(_id, olds: BaselineOutputs, news: BaselineInputs) {
    return Promise.resolve({ changes: olds.baselineHours !== news.baselineHours, replaces: [] });
  },
  update(_id, olds: BaselineOutputs, news: BaselineInputs) {
    const outs: BaselineOutputs = { ...news, deployedAt: olds.deployedAt };
    return Promise.resolve({ outs });
  },
};

export class StackBaseline extends pulumi.dynamic.Resource {
  declare readonly deployedAt: pulumi.Output<string>;

  constructor(name: string, args: { baselineHours: number }, opts?: pulumi.CustomResourceOptions) {
    super(baselineProvider, name, { ...args, deployedAt: undefined }, opts);
  }
}

/** The end of the backlog window (epoch ms). */
export function backlogUntil(deployedAt: string, baselineHours: number): number {
  return Date.parse(deployedAt) + baselineHours * 3600_000;
}
