CREATE TABLE "dispatch"."routes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"strategy" text NOT NULL,
	"targets" jsonb NOT NULL,
	"accounts" text[] NOT NULL,
	"fallback_on" jsonb NOT NULL,
	"first_byte_timeout_ms" integer NOT NULL,
	"cooldown_ms" integer NOT NULL,
	"failure_threshold" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
CREATE UNIQUE INDEX "routes_name_lower_key" ON "dispatch"."routes" USING btree (lower("name"));--> statement-breakpoint
CREATE INDEX "routes_page_idx" ON "dispatch"."routes" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "routes_accounts_idx" ON "dispatch"."routes" USING gin ("accounts");