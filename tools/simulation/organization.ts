import { hash } from "crypto";
import type { SeverityLabel } from "../../handler/finding/model";
import { electricEyeFinding, securityHubControlFinding, withOcsfSeverity } from "./findings";
import { seededRandom } from "./virtualTime";

// A whole AWS Organization as the delegated administrator's Security Hub sees it: accounts that belong to teams
// through an account tag `team` (a few untagged), resources that carry an `owner` tag naming another team, and an
// estate of findings drawn from about a thousand controls, a few of which fail on many resources (encryption,
// IMDSv2) while most fail rarely. It is the ground truth of who owns each finding and what should page.

export const ESTATE_FORMATS = ["asff", "ocsf", "both"] as const;
export type EstateFormat = (typeof ESTATE_FORMATS)[number];

/** The team of a finding whose account carries no `team` tag and whose resource no `owner` tag. */
export const UNOWNED = "(untagged)";

export interface Account {
  id: string;
  name: string;
  /** The account's `team` tag in AWS Organizations; undefined for an untagged account. */
  team?: string;
  /** The organizational unit the account sits in. */
  ou: { id: string; name: string };
}

export interface Control {
  /** The control's id, as Security Hub names it (S3.1) and ElectricEye's titles start with it ([S3.1]). */
  id: string;
  title: string;
  /** ElectricEye's check name, the last part of its finding ids. */
  check: string;
  service: string;
  /** ASFF and OCSF resource types. */
  asffType: string;
  ocsfType: string;
  /** The label its failures carry. */
  severity: SeverityLabel;
}

export interface EstateEntry {
  account: number;
  control: number;
  /** The resource's number within its account. */
  resource: number;
  region: string;
  /** The resource's `owner` tag, when it names a team other than its account's. */
  owner?: string;
  failing: boolean;
  severity: SeverityLabel;
  /** The rescan in which the finding first appears: its time to page is measured. */
  newInScan?: number;
  /** Arrives in the middle of its scan, behind half of it. */
  midScan?: boolean;
}

export interface Organization {
  teams: string[];
  accounts: Account[];
  controls: Control[];
  /**
   * The team that owns resources in other teams' accounts by their `owner` tag (as a data team owns the
   * databases of every account) and holds no account of its own; undefined with a single team.
   */
  tagOwner?: string;
}

export interface OrganizationOptions {
  accounts: number;
  findingsPerAccount: number;
  teams: number;
  seed: number;
}

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const TEAM_NAMES = [
  "payments",
  "identity",
  "data-platform",
  "mobile",
  "web",
  "machine-learning",
  "infrastructure",
  "analytics",
  "billing",
  "search",
];

// The controls that fail on many resources in a real organization lead the catalogue, with their real ids.
const HEADLINE: [string, string, string, string, string, SeverityLabel][] = [
  ["S3.1", "Amazon S3 buckets should be encrypted", "S3", "AwsS3Bucket", "AWS::S3::Bucket", "HIGH"],
  [
    "EC2.8",
    "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
    "EC2",
    "AwsEc2Instance",
    "AWS::EC2::Instance",
    "HIGH",
  ],
  [
    "EC2.3",
    "Attached EBS volumes should be encrypted at rest",
    "EC2",
    "AwsEc2Volume",
    "AWS::EC2::Volume",
    "MEDIUM",
  ],
  [
    "RDS.3",
    "RDS DB instances should have encryption at-rest enabled",
    "RDS",
    "AwsRdsDbInstance",
    "AWS::RDS::DBInstance",
    "MEDIUM",
  ],
  ["S3.13", "S3 buckets should have lifecycle configurations", "S3", "AwsS3Bucket", "AWS::S3::Bucket", "LOW"],
  [
    "SQS.1",
    "Amazon SQS queues should be encrypted at rest",
    "SQS",
    "AwsSqsQueue",
    "AWS::SQS::Queue",
    "MEDIUM",
  ],
  [
    "S3.4",
    "Amazon S3 Bucket Policies should not allow public access to the bucket",
    "S3",
    "AwsS3Bucket",
    "AWS::S3::Bucket",
    "CRITICAL",
  ],
];
const SERVICES: [string, string, string][] = [
  ["ACM", "AwsCertificateManagerCertificate", "AWS::ACM::Certificate"],
  ["APIGateway", "AwsApiGatewayStage", "AWS::ApiGateway::Stage"],
  ["CloudFront", "AwsCloudFrontDistribution", "AWS::CloudFront::Distribution"],
  ["CloudTrail", "AwsCloudTrailTrail", "AWS::CloudTrail::Trail"],
  ["CodeBuild", "AwsCodeBuildProject", "AWS::CodeBuild::Project"],
  ["DynamoDB", "AwsDynamoDbTable", "AWS::DynamoDB::Table"],
  ["EC2", "AwsEc2Instance", "AWS::EC2::Instance"],
  ["ECR", "AwsEcrRepository", "AWS::ECR::Repository"],
  ["ECS", "AwsEcsTaskDefinition", "AWS::ECS::TaskDefinition"],
  ["EFS", "AwsEfsFileSystem", "AWS::EFS::FileSystem"],
  ["EKS", "AwsEksCluster", "AWS::EKS::Cluster"],
  ["ELB", "AwsElbv2LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"],
  ["ElastiCache", "AwsElastiCacheCacheCluster", "AWS::ElastiCache::CacheCluster"],
  ["IAM", "AwsIamRole", "AWS::IAM::Role"],
  ["KMS", "AwsKmsKey", "AWS::KMS::Key"],
  ["Lambda", "AwsLambdaFunction", "AWS::Lambda::Function"],
  ["OpenSearch", "AwsOpenSearchServiceDomain", "AWS::OpenSearchService::Domain"],
  ["RDS", "AwsRdsDbInstance", "AWS::RDS::DBInstance"],
  ["Redshift", "AwsRedshiftCluster", "AWS::Redshift::Cluster"],
  ["S3", "AwsS3Bucket", "AWS::S3::Bucket"],
  ["SNS", "AwsSnsTopic", "AWS::SNS::Topic"],
  ["SQS", "AwsSqsQueue", "AWS::SQS::Queue"],
  ["SSM", "AwsSsmPatchCompliance", "AWS::SSM::PatchCompliance"],
  ["SecretsManager", "AwsSecretsManagerSecret", "AWS::SecretsManager::Secret"],
  ["StepFunctions", "AwsStepFunctionStateMachine", "AWS::StepFunctions::StateMachine"],
];
const CONTROLS = 1000;
// The share of the estate failing at each label, by the issue's description of a real estate.
const FAILING_SHARE: Partial<Record<SeverityLabel, number>> = {
  LOW: 0.04,
  MEDIUM: 0.04,
  HIGH: 0.019,
  CRITICAL: 0.001,
};

function headline([id, title, service, asffType, ocsfType, severity]: (typeof HEADLINE)[number]): Control {
  return {
    id,
    title,
    check: `${id.toLowerCase().replace(".", "-")}-check`,
    service,
    asffType,
    ocsfType,
    severity,
  };
}

/** One account whose findings are all of one control (S3.1 on its buckets): the estate of one stack's account. */
export function singleAccountOrganization(accountId: string): Organization {
  return {
    teams: [],
    accounts: [{ id: accountId, name: "estate", ou: { id: "ou-wk01-estatexx", name: "workloads" } }],
    controls: [headline(HEADLINE[0] as (typeof HEADLINE)[number])],
  };
}

function catalogue(random: () => number): Control[] {
  const controls: Control[] = HEADLINE.map(headline);
  const used = new Set(controls.map((control) => control.id));
  for (let number = 1; controls.length < CONTROLS; number += 1) {
    for (const [service, asffType, ocsfType] of SERVICES) {
      const id = `${service}.${number}`;
      if (used.has(id) || controls.length >= CONTROLS) continue;
      const draw = random();
      const severity: SeverityLabel =
        draw < 0.02 ? "CRITICAL" : draw < 0.27 ? "HIGH" : draw < 0.62 ? "MEDIUM" : "LOW";
      controls.push({
        id,
        title: `${service} resources should meet configuration requirement ${number}`,
        check: `${service.toLowerCase()}-requirement-${number}-check`,
        service,
        asffType,
        ocsfType,
        severity,
      });
    }
  }
  return controls;
}

/** How often each control is evaluated (Zipf: a few on very many resources) and how often it fails. */
function controlOdds(controls: Control[]): { cumulative: Float64Array; failRate: Float64Array } {
  const weights = controls.map((_, rank) => 1 / (rank + 1) ** 0.9);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative = new Float64Array(controls.length);
  let running = 0;
  weights.forEach((weight, index) => {
    running += weight / total;
    cumulative[index] = running;
  });
  // Within a label, a control's failure rate falls with its rank: the headline controls fail on many resources.
  const failRate = new Float64Array(controls.length);
  for (const [label, share] of Object.entries(FAILING_SHARE)) {
    const members = controls.flatMap((control, index) => (control.severity === label ? [index] : []));
    const factor = members.map((_, rank) => 1 / (rank + 1) ** 0.7);
    const mass = members.reduce(
      (sum, index, rank) => sum + ((weights[index] ?? 0) / total) * (factor[rank] ?? 0),
      0,
    );
    members.forEach((index, rank) => {
      failRate[index] = Math.min(0.9, ((share ?? 0) * (factor[rank] ?? 0)) / mass);
    });
  }
  return { cumulative, failRate };
}

function pickIndex(cumulative: Float64Array, draw: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((cumulative[middle] ?? 1) < draw) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** One resource in fifty carries the owner tag of the team that owns resources across accounts. */
export const OWNER_TAGGED_SHARE = 0.02;

export function createOrganization(options: OrganizationOptions): Organization {
  const random = seededRandom(options.seed * 7919 + 13);
  const teams = Array.from(
    { length: options.teams },
    (_, index) => TEAM_NAMES[index] ?? `team-${String(index + 1).padStart(2, "0")}`,
  );
  const tagOwner = teams.length > 1 ? teams[teams.length - 1] : undefined;
  // Teams differ in size: the first owns several times the accounts of the last. The tag owner holds none.
  const teamWeights = teams.map((team, index) => (team === tagOwner ? 0 : 1 / Math.sqrt(index + 1)));
  const teamTotal = teamWeights.reduce((sum, weight) => sum + weight, 0);
  const accounts: Account[] = Array.from({ length: options.accounts }, (_, index) => {
    let draw = random() * teamTotal;
    let team = tagOwner === undefined ? teams.length - 1 : teams.length - 2;
    for (let candidate = 0; candidate < teams.length; candidate += 1) {
      draw -= teamWeights[candidate] ?? 0;
      if (draw <= 0 && (teamWeights[candidate] ?? 0) > 0) {
        team = candidate;
        break;
      }
    }
    // Every twentieth account has no team tag: its findings go to the default route.
    const tagged = index % 20 !== 19;
    const id = String(200_000_000_000 + Math.floor(random() * 700_000_000_000));
    const teamName = teams[team] ?? "";
    const account: Account = {
      id,
      name: tagged
        ? `${teamName}-${String(index).padStart(4, "0")}`
        : `sandbox-${String(index).padStart(4, "0")}`,
      ou: tagged
        ? {
            id: `ou-wk01-${teamName
              .replace(/[^a-z]/g, "")
              .slice(0, 8)
              .padEnd(8, "x")}`,
            name: `workloads-${teamName}`,
          }
        : { id: "ou-sb01-sandboxx", name: "sandbox" },
    };
    if (tagged) account.team = teamName;
    return account;
  });
  const organization: Organization = { teams, accounts, controls: catalogue(random) };
  if (tagOwner !== undefined) organization.tagOwner = tagOwner;
  return organization;
}

/** About 90% passed, 8% LOW or MEDIUM failures, 2% HIGH of which a few CRITICAL, over the organization's accounts. */
export function createEstate(organization: Organization, options: OrganizationOptions): EstateEntry[] {
  const random = seededRandom(options.seed * 104729 + 7);
  const { cumulative, failRate } = controlOdds(organization.controls);
  const estate: EstateEntry[] = [];
  organization.accounts.forEach((_, accountIndex) => {
    for (let resource = 0; resource < options.findingsPerAccount; resource += 1) {
      const control = pickIndex(cumulative, random());
      const spec = organization.controls[control] as Control;
      const failing = random() < (failRate[control] ?? 0);
      const entry: EstateEntry = {
        account: accountIndex,
        control,
        resource,
        region: REGIONS[resource % REGIONS.length] as string,
        failing,
        severity: failing ? spec.severity : "INFORMATIONAL",
      };
      if (random() < OWNER_TAGGED_SHARE && organization.tagOwner !== undefined)
        entry.owner = organization.tagOwner;
      estate.push(entry);
    }
  });
  return estate;
}

/** Who owns a finding: its resource's `owner` tag, else its account's `team` tag, else nobody (the default route). */
export function ownerOf(organization: Organization, entry: EstateEntry): string {
  return entry.owner ?? organization.accounts[entry.account]?.team ?? UNOWNED;
}

/** The failing labels a rescan's new findings and regressions are drawn from. */
export function failingLabel(random: () => number): SeverityLabel {
  const draw = random();
  return draw < 0.4 ? "LOW" : draw < 0.8 ? "MEDIUM" : draw < 0.98 ? "HIGH" : "CRITICAL";
}

const LADDER: SeverityLabel[] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

/** Where a rescan's new findings appear: an account, a control and a resource not seen before. */
export type NewEntry = (
  random: () => number,
) => Pick<EstateEntry, "account" | "control" | "resource" | "region">;

/**
 * Before a rescan about 1% of the estate changes: fixed, regressed, severity up or down (only where both labels
 * page, since a finding that drops below the paged labels keeps its alert until it passes), and new findings;
 * and new HIGH and CRITICAL findings arrive in the middle of the rescan, one for every 2,000 findings.
 */
export function churn(
  estate: EstateEntry[],
  scan: number,
  random: () => number,
  paged: SeverityLabel[],
  place: NewEntry,
): void {
  const size = estate.length;
  const changes = Math.max(4, Math.round(size * 0.01));
  const pick = (want: (entry: EstateEntry) => boolean): EstateEntry | undefined => {
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      const entry = estate[Math.floor(random() * size)];
      if (entry !== undefined && want(entry)) return entry;
    }
    return undefined;
  };
  for (let change = 0; change < changes; change += 1) {
    const kind = change % 10;
    if (kind < 4) {
      const entry = pick((candidate) => candidate.failing);
      if (entry !== undefined) Object.assign(entry, { failing: false, severity: "INFORMATIONAL" });
    } else if (kind < 7) {
      const entry = pick((candidate) => !candidate.failing);
      if (entry !== undefined) Object.assign(entry, { failing: true, severity: failingLabel(random) });
    } else if (kind < 9) {
      const entry = pick((candidate) => {
        if (!candidate.failing) return false;
        const next =
          LADDER[LADDER.indexOf(candidate.severity) + (candidate.severity === "CRITICAL" ? -1 : 1)];
        return next !== undefined && paged.includes(candidate.severity) === paged.includes(next);
      });
      if (entry !== undefined) {
        const step = entry.severity === "CRITICAL" ? -1 : 1;
        entry.severity = LADDER[LADDER.indexOf(entry.severity) + step] as SeverityLabel;
      }
    } else {
      estate.push({ ...place(random), failing: true, severity: failingLabel(random), newInScan: scan });
    }
  }
  const extra = Math.max(1, Math.round(size / 2000));
  for (let index = 0; index < extra; index += 1) {
    estate.push({
      ...place(random),
      failing: true,
      severity: index % 3 === 2 ? "CRITICAL" : "HIGH",
      newInScan: scan,
      midScan: true,
    });
  }
}

// --- The findings as Security Hub sends them ---

interface Materialized {
  /** The finding of each feed it arrives in: ElectricEye's ASFF, or Security Hub's control finding in OCSF and ASFF. */
  asff?: Record<string, unknown>;
  ocsf?: Record<string, unknown>;
}

/** The moment and state a scan imports an entry with; the entry itself may change before its message is read. */
export interface ImportState {
  at: number;
  failing: boolean;
  severity: SeverityLabel;
  /** Security Hub holds the finding's workflow as NOTIFIED (a page was written back to it). */
  notified: boolean;
}

/** An entry's names, worked out once per materialization. */
interface Names {
  account: Account;
  control: Control;
  resourceName: string;
  resourceArn: string;
  productArn: string;
  id: string;
}

/**
 * Turns estate entries into the findings Security Hub would send, from one copy of each published template. The
 * findings are written out field by field, in the templates' order, rather than spread from them: millions of
 * them are made in a run.
 */
export class FindingFactory {
  private readonly asffTemplate = electricEyeFinding("s3-encryption-high", "TEMPLATE-BUCKET", "111122223333");
  private readonly ocsfTemplate = securityHubControlFinding("TEMPLATE-QUEUE", "123456789012");

  constructor(
    private readonly organization: Organization,
    readonly format: EstateFormat,
  ) {}

  /** Security Hub's identity of an entry's finding: product ARN and id, as the dedup key hashes them. */
  identity(entry: EstateEntry): { productArn: string; id: string } {
    const { productArn, id } = this.names(entry);
    return { productArn, id };
  }

  materialize(entry: EstateEntry, state: ImportState): Materialized {
    const finding = (feed: "asff" | "ocsf") =>
      JSON.parse(this.feedText(entry, state, feed).text) as Record<string, unknown>;
    if (this.format === "asff") return { asff: finding("asff") };
    const ocsf = finding("ocsf");
    return this.format === "both" ? { ocsf, asff: finding("asff") } : { ocsf };
  }

  /**
   * The finding of one feed an entry arrives in, as JSON text, and what its event's `resources` name (the product
   * ARN in ASFF, the finding's metadata.uid in OCSF): what one import's event carries.
   */
  feedText(
    entry: EstateEntry,
    state: ImportState,
    feed: "asff" | "ocsf",
  ): { text: string; resource: string } {
    const names = this.names(entry);
    if (this.format === "asff")
      return { text: this.electricEye(entry, names, state), resource: names.productArn };
    if (feed === "ocsf")
      return { text: JSON.stringify(this.controlFinding(entry, names, state)), resource: ocsfUid(names) };
    return { text: JSON.stringify(this.controlFindingAsff(entry, names, state)), resource: names.productArn };
  }

  private names(entry: EstateEntry): Names {
    const account = this.organization.accounts[entry.account] as Account;
    const control = this.organization.controls[entry.control] as Control;
    const service = control.service.toLowerCase();
    const resourceName = `${service}-${String(entry.resource).padStart(6, "0")}`;
    const resourceArn = `arn:aws:${service}:${entry.region}:${account.id}:${control.asffType.slice(3).toLowerCase()}/${resourceName}`;
    if (this.format === "asff")
      return {
        account,
        control,
        resourceName,
        resourceArn,
        productArn: `arn:aws:securityhub:${entry.region}:${account.id}:product/${account.id}/default`,
        id: `${resourceArn}/${control.check}`,
      };
    return {
      account,
      control,
      resourceName,
      resourceArn,
      productArn: `arn:aws:securityhub:${entry.region}::product/aws/securityhub`,
      id: `arn:aws:securityhub:${entry.region}:${account.id}:security-control/${control.id}/finding/${uuidOf(`${account.id}/${entry.resource}/${control.id}`)}`,
    };
  }

  /** The template's fields that every ElectricEye finding shares, as JSON text. */
  private readonly asffShared = (() => {
    const template = this.asffTemplate;
    const productFields = template.ProductFields as Record<string, string>;
    const compliance = template.Compliance as { RelatedRequirements: string[] };
    const json = (value: unknown) => {
      if (value === undefined)
        throw new Error("the ElectricEye template lacks a field every finding carries");
      return JSON.stringify(value);
    };
    return {
      schemaVersion: json(template.SchemaVersion),
      types: json(template.Types),
      confidence: json(template.Confidence),
      remediation: json(template.Remediation),
      productName: json(productFields.ProductName),
      provider: json(productFields.Provider),
      providerType: json(productFields.ProviderType),
      assetClass: json(productFields.AssetClass),
      relatedRequirements: json(compliance.RelatedRequirements),
    };
  })();

  /**
   * ElectricEye's finding as the JSON text of its import, field by field in the template's order: the shared fields
   * written once, the entry's own written as JSON strings. Each scan writes every finding of the estate once.
   */
  private electricEye(entry: EstateEntry, names: Names, state: ImportState): string {
    const { account, control, resourceArn } = names;
    const shared = this.asffShared;
    const json = JSON.stringify;
    // ElectricEye stamps every import with the time of its run.
    const time = json(new Date(state.at).toISOString());
    const passed = !state.failing;
    const accountId = json(account.id);
    const region = json(entry.region);
    const workflow = passed ? "RESOLVED" : state.notified ? "NOTIFIED" : "NEW";
    return (
      `{"SchemaVersion":${shared.schemaVersion},"Id":${json(names.id)},"ProductArn":${json(names.productArn)},` +
      `"GeneratorId":${json(resourceArn)},"AwsAccountId":${accountId},"Types":${shared.types},` +
      `"FirstObservedAt":${time},"CreatedAt":${time},"UpdatedAt":${time},` +
      `"Severity":{"Label":${json(passed ? "INFORMATIONAL" : state.severity)}},"Confidence":${shared.confidence},` +
      `"Title":${json(`[${control.id}] ${control.title}`)},` +
      `"Description":${json(`${control.service} resource ${names.resourceName} fails ${control.id}: ${control.title}.`)},` +
      `"Remediation":${shared.remediation},"ProductFields":{"ProductName":${shared.productName},` +
      `"Provider":${shared.provider},"ProviderType":${shared.providerType},"ProviderAccountId":${accountId},` +
      `"AssetRegion":${region},"AssetClass":${shared.assetClass},"AssetService":${json(control.service)},` +
      `"AssetComponent":${json(control.asffType.slice(3))}},"Resources":[${json(asffResource(entry, names))}],` +
      `"Compliance":{"Status":"${passed ? "PASSED" : "FAILED"}","RelatedRequirements":${shared.relatedRequirements}},` +
      `"Workflow":{"Status":"${workflow}"},"RecordState":"${passed ? "ARCHIVED" : "ACTIVE"}",` +
      `"Region":${region},"LastObservedAt":${time}}`
    );
  }

  private controlFinding(entry: EstateEntry, names: Names, state: ImportState): Record<string, unknown> {
    const { account, control, resourceArn } = names;
    const template = this.ocsfTemplate;
    const info = template.finding_info as Record<string, unknown>;
    const metadata = template.metadata as Record<string, unknown>;
    const time = new Date(state.at).toISOString();
    const passed = !state.failing;
    const severity = withOcsfSeverity({}, passed ? "Informational" : state.severity);
    const resource: Record<string, unknown> = {
      cloud_partition: "aws",
      owner: { account: { uid: account.id } },
      region: entry.region,
      type: control.ocsfType,
      uid: resourceArn,
      uid_alt: resourceArn,
    };
    if (entry.owner !== undefined) resource.tags = [{ name: "owner", value: entry.owner }];
    return {
      activity_id: template.activity_id,
      activity_name: template.activity_name,
      category_name: template.category_name,
      category_uid: template.category_uid,
      class_name: template.class_name,
      class_uid: template.class_uid,
      cloud: { account: { uid: account.id }, provider: "AWS", region: entry.region },
      compliance: {
        control: control.id,
        standards: (template.compliance as { standards: string[] }).standards,
        ...(passed ? { status: "Pass", status_id: 1 } : { status: "Fail", status_id: 3 }),
      },
      finding_info: {
        analytic: info.analytic,
        created_time: info.created_time,
        created_time_dt: info.created_time_dt,
        desc: `This control checks ${control.service} resources: ${control.title}.`,
        first_seen_time: info.first_seen_time,
        first_seen_time_dt: info.first_seen_time_dt,
        last_seen_time: state.at,
        last_seen_time_dt: time,
        modified_time: state.at,
        modified_time_dt: time,
        title: control.title,
        types: info.types,
        uid: names.id,
      },
      metadata: {
        product: {
          ...(metadata.product as object),
          uid: `arn:aws:securityhub:${entry.region}::productv2/aws/securityhub`,
        },
        profiles: metadata.profiles,
        uid: ocsfUid(names),
        version: metadata.version,
      },
      remediation: template.remediation,
      resources: [resource],
      severity: severity.severity,
      severity_id: severity.severity_id,
      // Security Hub resolves a passed control finding; a written-back page shows In Progress.
      ...(passed
        ? { status: "Resolved", status_id: 4 }
        : state.notified
          ? { status: "In Progress", status_id: 2 }
          : { status: "New", status_id: 1 }),
      time: state.at,
      time_dt: time,
      type_name: template.type_name,
      type_uid: template.type_uid,
    };
  }

  /** The same control finding as Security Hub CSPM sends it in ASFF: same id, the ASFF product ARN. */
  private controlFindingAsff(entry: EstateEntry, names: Names, state: ImportState): Record<string, unknown> {
    const { account, control } = names;
    const time = new Date(state.at).toISOString();
    const passed = !state.failing;
    return {
      SchemaVersion: "2018-10-08",
      Id: names.id,
      ProductArn: names.productArn,
      GeneratorId: `security-control/${control.id}`,
      AwsAccountId: account.id,
      Region: entry.region,
      Types: ["Software and Configuration Checks/Industry and Regulatory Standards"],
      CreatedAt: time,
      UpdatedAt: time,
      Severity: { Label: passed ? "INFORMATIONAL" : state.severity },
      Title: control.title,
      Description: `This control checks ${control.service} resources: ${control.title}.`,
      ProductFields: { "aws/securityhub/ProductName": "Security Hub", "aws/securityhub/CompanyName": "AWS" },
      Resources: [asffResource(entry, names)],
      Compliance: { Status: passed ? "PASSED" : "FAILED", SecurityControlId: control.id },
      Workflow: { Status: passed ? "RESOLVED" : state.notified ? "NOTIFIED" : "NEW" },
      RecordState: "ACTIVE",
    };
  }
}

/** The finding's resource in ASFF, with its owner tag when it has one. */
function asffResource(entry: EstateEntry, names: Names): Record<string, unknown> {
  const resource: Record<string, unknown> = {
    Type: names.control.asffType,
    Id: names.resourceArn,
    Partition: "aws",
    Region: entry.region,
  };
  if (entry.owner !== undefined) resource.Tags = { owner: entry.owner };
  return resource;
}

/** The new Security Hub's metadata.uid of a control finding, which its event's resources name. */
function ocsfUid(names: Names): string {
  return hash("sha256", names.id, "hex").slice(0, 56);
}

function uuidOf(seed: string): string {
  const digest = hash("sha256", seed, "hex");
  return [
    digest.slice(0, 8),
    digest.slice(8, 12),
    digest.slice(12, 16),
    digest.slice(16, 20),
    digest.slice(20, 32),
  ].join("-");
}
