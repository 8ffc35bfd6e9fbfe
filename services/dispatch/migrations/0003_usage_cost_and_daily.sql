CREATE TABLE "dispatch"."usage_daily" (
	"day" date NOT NULL,
	"account" text NOT NULL,
	"model" text NOT NULL,
	"principal_kind" text NOT NULL,
	"principal_id" uuid NOT NULL,
	"team_ids" uuid[] NOT NULL,
	"requests" bigint NOT NULL,
	"errors" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"cost_usd" numeric(24, 9),
	CONSTRAINT "usage_daily_day_account_model_principal_kind_principal_id_team_ids_pk" PRIMARY KEY("day","account","model","principal_kind","principal_id","team_ids")
);
--> statement-breakpoint
CREATE TABLE "dispatch"."usage_daily_accounts" (
	"day" date NOT NULL,
	"account" text NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"errors" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"cost_usd" numeric(24, 9),
	CONSTRAINT "usage_daily_accounts_day_account_model_pk" PRIMARY KEY("day","account","model")
);
--> statement-breakpoint
-- Records are identified by an id dispatch chooses, not by the request id a caller may choose.
ALTER TABLE "dispatch"."usage_records" DROP CONSTRAINT "usage_records_pkey";--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "id" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ALTER COLUMN "id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD CONSTRAINT "usage_records_pkey" PRIMARY KEY ("id");--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "team_ids" uuid[];--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "cached_tokens" bigint;--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "estimated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "cost_usd" numeric(24, 9);--> statement-breakpoint
ALTER TABLE "dispatch"."usage_records" ADD COLUMN "ttft_ms" integer;--> statement-breakpoint
CREATE INDEX "usage_daily_principal_day_idx" ON "dispatch"."usage_daily" USING btree ("principal_id","day");--> statement-breakpoint
CREATE INDEX "usage_daily_account_day_idx" ON "dispatch"."usage_daily" USING btree ("account","day");--> statement-breakpoint
CREATE INDEX "usage_records_at_idx" ON "dispatch"."usage_records" USING btree ("at","id");--> statement-breakpoint
CREATE INDEX "usage_records_request_idx" ON "dispatch"."usage_records" USING btree ("request_id");--> statement-breakpoint
-- Records stored before this migration count in the daily totals too (they carry no cost).
INSERT INTO "dispatch"."usage_daily" ("day","account","model","principal_kind","principal_id","team_ids","requests","errors","input_tokens","output_tokens","cached_tokens","cost_usd")
SELECT ("at" AT TIME ZONE 'UTC')::date, "account", "model", "principal_kind", "principal_id", '{}'::uuid[],
  count(*), count(*) FILTER (WHERE "status" >= 400), coalesce(sum("prompt_tokens"), 0),
  coalesce(sum("completion_tokens"), 0), 0, NULL
FROM "dispatch"."usage_records" GROUP BY 1, 2, 3, 4, 5;--> statement-breakpoint
INSERT INTO "dispatch"."usage_daily_accounts" ("day","account","model","requests","errors","input_tokens","output_tokens","cached_tokens","cost_usd")
SELECT "day", "account", "model", sum("requests"), sum("errors"), sum("input_tokens"), sum("output_tokens"), 0, NULL
FROM "dispatch"."usage_daily" GROUP BY 1, 2, 3;
