CREATE SCHEMA "dispatch";
--> statement-breakpoint
CREATE TABLE "dispatch"."audit_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	"actor_kind" text NOT NULL,
	"actor_id" uuid,
	"actor_key_id" uuid,
	"action" text NOT NULL,
	"target_kind" text NOT NULL,
	"target_id" text,
	"request_id" text,
	"outcome" text NOT NULL,
	"detail" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dispatch"."outbox" (
	"sequence" bigint PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dispatch"."provider_accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"base_url" text,
	"options" jsonb NOT NULL,
	"credentials_ciphertext" text NOT NULL,
	"credentials_set" boolean NOT NULL,
	"models" jsonb NOT NULL,
	"enabled" boolean NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
CREATE INDEX "audit_events_page_idx" ON "dispatch"."audit_events" USING btree ("at","id");--> statement-breakpoint
CREATE INDEX "outbox_unpublished_idx" ON "dispatch"."outbox" USING btree ("sequence") WHERE "dispatch"."outbox"."published_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "provider_accounts_name_key" ON "dispatch"."provider_accounts" USING btree ("name");