CREATE TABLE "dispatch"."usage_records" (
	"request_id" text PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"account" text NOT NULL,
	"model" text NOT NULL,
	"operation" text NOT NULL,
	"principal_kind" text NOT NULL,
	"principal_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"status" integer NOT NULL,
	"stream" boolean NOT NULL,
	"prompt_tokens" bigint,
	"completion_tokens" bigint,
	"total_tokens" bigint,
	"duration_ms" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "usage_records_account_at_idx" ON "dispatch"."usage_records" USING btree ("account","at");--> statement-breakpoint
CREATE INDEX "usage_records_principal_at_idx" ON "dispatch"."usage_records" USING btree ("principal_id","at");