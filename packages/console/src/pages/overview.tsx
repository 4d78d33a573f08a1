import { Granularity, VerificationGrouping } from "@latchkey/client/web";
import { useState } from "preact/hooks";
import { type ChartBucket, OutcomeChart, type Slots } from "../chart.js";
import { href } from "../router.js";
import { millis, type Session, timestamp } from "../session.js";
import { formatTime, Refusal, Section, Table, useLoad } from "../ui.js";

/** The ranges offered, each at the finest granularity the API allows for its span. */
export const RANGES = {
  hour: { label: "Last hour", spanMs: 3600_000, granularity: Granularity.MINUTE, stepMs: 60_000 },
  day: { label: "Last 24 hours", spanMs: 86_400_000, granularity: Granularity.HOUR, stepMs: 3600_000 },
  month: { label: "Last 30 days", spanMs: 30 * 86_400_000, granularity: Granularity.DAY, stepMs: 86_400_000 },
} as const;
export type RangeName = keyof typeof RANGES;

const MAX_BUCKET_PAGES = 10;
const TOP = 10;

/** Every bucket of a GetVerifications query over the range ending now, up to MAX_BUCKET_PAGES pages of 1000, and the slots it spans. */
export async function verifications(session: Session, range: RangeName, filter: { keyspaceId?: string; keyIds?: string[] }, groupBy: VerificationGrouping[] = []) {
  const { spanMs, granularity, stepMs } = RANGES[range];
  const endMs = Date.now();
  const slots: Slots = { startMs: endMs - spanMs, endMs, stepMs };
  const buckets = [];
  let pageToken = "";
  for (let page = 0; page < MAX_BUCKET_PAGES; page++) {
    const answer = await session.api.analytics.getVerifications({ startTime: timestamp(slots.startMs), endTime: timestamp(endMs), granularity, groupBy, pageSize: 1000, pageToken, ...filter });
    buckets.push(...answer.buckets);
    pageToken = answer.nextPageToken;
    if (!pageToken) break;
  }
  return { buckets, slots };
}

export const chartBuckets = (buckets: Awaited<ReturnType<typeof verifications>>["buckets"]): ChartBucket[] => buckets.map((bucket) => ({ time: millis(bucket.time) ?? 0, outcomes: bucket.outcomes }));

function top(buckets: Awaited<ReturnType<typeof verifications>>["buckets"], name: (bucket: (typeof buckets)[number]) => string) {
  const counts = new Map<string, { total: number; valid: number }>();
  for (const bucket of buckets) {
    const entry = counts.get(name(bucket)) ?? { total: 0, valid: 0 };
    entry.total += Number(bucket.total);
    entry.valid += Number(bucket.valid);
    counts.set(name(bucket), entry);
  }
  return [...counts].sort((a, b) => b[1].total - a[1].total).slice(0, TOP);
}

export function RangePicker({ range, onChange }: { range: RangeName; onChange(range: RangeName): void }) {
  return (
    <label class="inline-field">
      <span>Range</span>
      <select value={range} onChange={(event) => onChange(event.currentTarget.value as RangeName)}>
        {Object.entries(RANGES).map(([name, { label }]) => (
          <option value={name}>{label}</option>
        ))}
      </select>
    </label>
  );
}

export function Overview({ session }: { session: Session }) {
  const [range, setRange] = useState<RangeName>("day");
  const analytics = session.may("analytics.read");
  const chart = useLoad(() => (analytics ? verifications(session, range, {}) : Promise.resolve(undefined)), [range]);
  const byKey = useLoad(() => (analytics ? verifications(session, range, {}, [VerificationGrouping.KEY]) : Promise.resolve(undefined)), [range]);
  const byIdentity = useLoad(() => (analytics ? verifications(session, range, {}, [VerificationGrouping.IDENTITY]) : Promise.resolve(undefined)), [range]);
  const refusals = useLoad(async () => {
    if (!session.may("audit.read")) return [];
    // Oldest first: the newest refusals are on the last page of the day.
    const refused = [];
    let pageToken = "";
    for (let page = 0; page < MAX_BUCKET_PAGES; page++) {
      const answer = await session.api.audit.listAuditEvents({ startTime: timestamp(Date.now() - 86_400_000), pageSize: 100, pageToken });
      refused.push(...answer.events.filter((event) => event.outcome !== "ok"));
      pageToken = answer.nextPageToken;
      if (!pageToken) break;
    }
    return refused.reverse().slice(0, TOP);
  }, []);
  return (
    <>
      <h1>Overview</h1>
      {analytics ? (
        <>
          <Section title="Verifications by outcome" actions={<RangePicker range={range} onChange={setRange} />}>
            <Refusal error={chart.error} />
            {chart.data ? <OutcomeChart buckets={chartBuckets(chart.data.buckets)} slots={chart.data.slots} label={`Verifications, ${RANGES[range].label.toLowerCase()}`} /> : null}
          </Section>
          <div class="columns">
            <Section title="Top keys">
              <Refusal error={byKey.error} />
              <Table
                label="Top keys"
                head={["Key", "Verifications", "Valid"]}
                empty="No verifications in this range."
                rows={top(byKey.data?.buckets ?? [], (bucket) => bucket.keyId).map(([keyId, { total, valid }]) => [<a href={href("keys", keyId)}>{keyId}</a>, total, valid])}
              />
            </Section>
            <Section title="Top identities">
              <Refusal error={byIdentity.error} />
              <Table
                label="Top identities"
                head={["External id", "Verifications", "Valid"]}
                empty="No verifications of keys with an identity in this range."
                rows={top((byIdentity.data?.buckets ?? []).filter((bucket) => bucket.externalId), (bucket) => bucket.externalId).map(([externalId, { total, valid }]) => [externalId, total, valid])}
              />
            </Section>
          </div>
        </>
      ) : (
        <p class="muted">This root key may not read analytics (analytics.read), so there is no chart.</p>
      )}
      {session.may("audit.read") ? (
        <Section title="Recent refusals">
          <Refusal error={refusals.error} />
          <Table
            label="Recent refusals"
            head={["Time", "Action", "Outcome", "Actor"]}
            empty="No refused calls in the last 24 hours."
            rows={(refusals.data ?? []).map((event) => [formatTime(event.time), event.action, event.outcome, event.actor])}
          />
        </Section>
      ) : null}
    </>
  );
}
