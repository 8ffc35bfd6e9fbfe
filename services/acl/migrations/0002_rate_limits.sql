CREATE TABLE "acl"."rate_limit_windows" (
	"limit_id" uuid NOT NULL,
	"window_start" bigint NOT NULL,
	"requests" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	CONSTRAINT "rate_limit_windows_limit_id_window_start_pk" PRIMARY KEY("limit_id","window_start")
);
--> statement-breakpoint
CREATE TABLE "acl"."rate_limits" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"account" text,
	"model" text,
	"requests_per_minute" integer,
	"tokens_per_minute" integer,
	"fail_open" boolean NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
ALTER TABLE "acl"."rate_limit_windows" ADD CONSTRAINT "rate_limit_windows_limit_id_rate_limits_id_fk" FOREIGN KEY ("limit_id") REFERENCES "acl"."rate_limits"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "rate_limits_subject_idx" ON "acl"."rate_limits" USING btree ("subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "rate_limits_page_idx" ON "acl"."rate_limits" USING btree ("created_at","id");