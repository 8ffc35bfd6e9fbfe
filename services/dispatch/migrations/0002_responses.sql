CREATE TABLE "dispatch"."responses" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_kind" text NOT NULL,
	"owner_id" uuid NOT NULL,
	"account" text NOT NULL,
	"model" text NOT NULL,
	"native" boolean NOT NULL,
	"item_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"history" jsonb,
	"input" jsonb,
	"response" jsonb,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "responses_expires_at_idx" ON "dispatch"."responses" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "responses_item_ids_idx" ON "dispatch"."responses" USING gin ("item_ids");