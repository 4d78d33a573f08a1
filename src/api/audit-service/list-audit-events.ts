import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListAuditEventsRequest, ListAuditEventsResponseSchema } from "../../../gen/latchkey/v1/audit_pb.js";
import { invalidArgument } from "../../domain/errors.js";
import { auditEventToProto } from "../mapping/records.js";
import { toDate } from "../mapping/scalars.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { fetchPage, pageRequest } from "../pagination.js";

export const listAuditEvents =
  ({ store }: ServiceDeps) =>
  async (request: ListAuditEventsRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListAuditEventsResponseSchema>> => {
    const caller = callerIn(context);
    const from = toDate(request.startTime, "start_time") ?? undefined;
    const to = toDate(request.endTime, "end_time") ?? undefined;
    if (from && to && from >= to) throw invalidArgument("end_time", "must be after start_time");
    const filter = {
      workspaceId: caller.workspaceId,
      actor: request.actor || undefined,
      action: request.action || undefined,
      targetId: request.targetId || undefined,
      from,
      to,
    };
    const { items, nextPageToken } = await fetchPage(pageRequest(request.pageSize, request.pageToken, "evt"), (page) => store.listAuditEvents(filter, page));
    return { events: items.map(auditEventToProto), nextPageToken };
  };
