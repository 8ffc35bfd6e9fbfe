CREATE TABLE "acl"."budget_periods" (
	"budget_id" uuid NOT NULL,
	"period_start" bigint NOT NULL,
	"handed_micro_usd" bigint NOT NULL,
	"spent_usd" double precision NOT NULL,
	"threshold_at" timestamp (3) with time zone,
	"exhausted_at" timestamp (3) with time zone,
	CONSTRAINT "budget_periods_budget_id_period_start_pk" PRIMARY KEY("budget_id","period_start")
);
--> statement-breakpoint
CREATE TABLE "acl"."budget_spend_records" (
	"record_id" uuid PRIMARY KEY NOT NULL,
	"counted_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acl"."budgets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"account" text,
	"model" text,
	"max_usd" double precision NOT NULL,
	"period" text NOT NULL,
	"fail_open" boolean NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
ALTER TABLE "acl"."budget_periods" ADD CONSTRAINT "budget_periods_budget_id_budgets_id_fk" FOREIGN KEY ("budget_id") REFERENCES "acl"."budgets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "budget_spend_records_counted_idx" ON "acl"."budget_spend_records" USING btree ("counted_at");--> statement-breakpoint
CREATE INDEX "budgets_subject_idx" ON "acl"."budgets" USING btree ("subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "budgets_page_idx" ON "acl"."budgets" USING btree ("created_at","id");