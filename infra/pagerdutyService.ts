import * as pagerduty from "@pulumi/pagerduty";
import * as pulumi from "@pulumi/pulumi";
import type { PagerDutyConfig, PagerDutyRegion } from "../config";
import type { SupportHours } from "../handler/finding/urgency";

export interface PagerDutyServiceArgs {
  config: PagerDutyConfig;
  region: PagerDutyRegion;
  /** Adds a CloudWatch integration whose URL the alarms are sent to. */
  alarmIntegration: boolean;
  /** Names this stack's integrations, so that an organisation-wide service shows which account is which. */
  stack: string;
  /** The service's support hours; the function decides urgency with the same hours. */
  supportHours: SupportHours | undefined;
}

/**
 * The PagerDuty side: team, escalation policy, service and Events API v2 integrations, or integrations on an
 * existing service, or only a routing key given in the config. Every way yields the routing keys as secrets.
 */
export class PagerDutyService extends pulumi.ComponentResource {
  /** The Events API v2 routing keys (integration keys), one per integration, always secret. */
  readonly routingKeys: pulumi.Output<string>[];
  readonly serviceId: pulumi.Output<string | undefined>;
  /** The first Events API v2 integration's ID. */
  readonly integrationId: pulumi.Output<string | undefined>;
  /** The CloudWatch integration's URL, secret (it embeds that integration's key); undefined without one. */
  readonly alarmEndpoint: pulumi.Output<string> | undefined;

  constructor(name: string, args: PagerDutyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args hold secrets, so they are not handed to super().
    super("electriceye-pagerduty:pagerduty:PagerDutyService", name, {}, opts);
    const config = args.config;
    if (config.mode === "existingKey") {
      this.routingKeys = [pulumi.secret(config.routingKey)];
      this.serviceId = pulumi.output(undefined);
      this.integrationId = pulumi.output(undefined);
      this.registerOutputs({ routingKeys: this.routingKeys });
      return;
    }

    const provider = new pagerduty.Provider(
      `${name}-provider`,
      {
        token: config.token,
        ...(args.region === "eu" ? { serviceRegion: "eu" } : {}),
      },
      { parent: this },
    );
    const child = { parent: this, provider };
    const serviceId =
      config.mode === "existingService"
        ? pulumi.output(config.serviceId)
        : this.createService(name, config, args.supportHours, child);

    // The first keeps the name it always had, so that adding integrations replaces nothing.
    const integrations = Array.from(
      { length: config.integrations },
      (_, index) =>
        new pagerduty.ServiceIntegration(
          index === 0 ? `${name}-events-integration` : `${name}-events-integration-${index + 1}`,
          {
            name: `Security Hub findings (${args.stack}${index === 0 ? "" : `, key ${index + 1}`})`,
            service: serviceId,
            type: "events_api_v2_inbound_integration",
          },
          { ...child, additionalSecretOutputs: ["integrationKey"] },
        ),
    );
    this.routingKeys = integrations.map((integration) => pulumi.secret(integration.integrationKey));
    this.serviceId = serviceId;
    this.integrationId = integrations[0]?.id ?? pulumi.output(undefined);

    if (args.alarmIntegration) {
      const vendor = pagerduty.getVendorOutput({ name: "Amazon CloudWatch" }, { parent: this, provider });
      const alarms = new pagerduty.ServiceIntegration(
        `${name}-alarm-integration`,
        { name: `electriceye-pagerduty alarms (${args.stack})`, service: serviceId, vendor: vendor.id },
        { ...child, additionalSecretOutputs: ["integrationKey"] },
      );
      const host = args.region === "eu" ? "events.eu.pagerduty.com" : "events.pagerduty.com";
      this.alarmEndpoint = pulumi.secret(
        pulumi.interpolate`https://${host}/integration/${alarms.integrationKey}/enqueue`,
      );
    }
    this.registerOutputs({
      routingKeys: this.routingKeys,
      serviceId: this.serviceId,
      integrationId: this.integrationId,
      alarmEndpoint: this.alarmEndpoint,
    });
  }

  private createService(
    name: string,
    config: Extract<PagerDutyConfig, { mode: "create" }>,
    supportHours: SupportHours | undefined,
    child: pulumi.CustomResourceOptions,
  ): pulumi.Output<string> {
    // Deleting a PagerDuty service deletes its incidents, the record of who was paged for what: pulumi destroy
    // leaves the service, and the policy and team it needs, in PagerDuty.
    const retained = { ...child, retainOnDelete: true };
    const team = new pagerduty.Team(
      `${name}-team`,
      { name: config.teamName, description: "Pages from AWS Security Hub findings (electriceye-pagerduty)" },
      retained,
    );
    const users = config.escalation.userEmails.map((email) => pagerduty.getUserOutput({ email }, child).id);
    const schedules = config.escalation.scheduleNames.map(
      (scheduleName) => pagerduty.getScheduleOutput({ name: scheduleName }, child).id,
    );
    const policy = new pagerduty.EscalationPolicy(
      `${name}-escalation-policy`,
      {
        name: `${config.serviceName} escalation`,
        description: "Escalation for pages from AWS Security Hub findings",
        teams: team.id,
        numLoops: config.escalation.loops,
        rules: [
          {
            escalationDelayInMinutes: config.escalation.delayMinutes,
            targets: [
              ...schedules.map((id) => ({ type: "schedule_reference", id })),
              ...users.map((id) => ({ type: "user_reference", id })),
            ],
          },
        ],
      },
      retained,
    );
    const service = new pagerduty.Service(
      `${name}-service`,
      {
        name: config.serviceName,
        description: "One alert per AWS Security Hub finding; the alert resolves when the finding does.",
        escalationPolicy: policy.id,
        // Alerts, not bare incidents: severity-based urgency and alert grouping work on alerts. Snake case is the
        // API's value; the camel-case spelling in the provider's generated docs is rejected.
        alertCreation: "create_alerts_and_incidents",
        // Resolution comes from the finding (passed, archived, suppressed), never from a timer.
        autoResolveTimeout: "null",
        acknowledgementTimeout:
          config.acknowledgementTimeoutSeconds === 0 ? "null" : String(config.acknowledgementTimeoutSeconds),
        ...serviceUrgency(supportHours),
      },
      retained,
    );
    return service.id;
  }
}

const SEVERITY_BASED = { type: "constant", urgency: "severity_based" };

function time(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}:00`;
}

/**
 * Pure: the service's urgency rule. Severity-based inside and outside the support hours: the function sends the
 * severity that gives each alert its urgency (see handler/finding/urgency.ts), and the service carries the same
 * hours so that responders and PagerDuty's analytics see them.
 */
export function serviceUrgency(
  hours: SupportHours | undefined,
): Pick<pagerduty.ServiceArgs, "incidentUrgencyRule" | "supportHours"> {
  if (hours === undefined) return { incidentUrgencyRule: SEVERITY_BASED };
  return {
    incidentUrgencyRule: {
      type: "use_support_hours",
      duringSupportHours: SEVERITY_BASED,
      outsideSupportHours: SEVERITY_BASED,
    },
    supportHours: {
      type: "fixed_time_per_day",
      timeZone: hours.timeZone,
      daysOfWeeks: hours.days,
      startTime: time(hours.startMinute),
      endTime: time(hours.endMinute),
    },
  };
}
