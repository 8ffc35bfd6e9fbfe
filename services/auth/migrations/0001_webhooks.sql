CREATE TABLE "auth"."key_expiry_notices" (
	"key_id" uuid NOT NULL,
	"notified_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "key_expiry_notices_key_id_pk" PRIMARY KEY("key_id")
);
--> statement-breakpoint
CREATE TABLE "auth"."webhook_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"dedup_key" text,
	"payload" jsonb NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone,
	"last_status" integer,
	"last_error" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"delivered_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "auth"."webhook_endpoints" (
	"id" uuid PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"description" text NOT NULL,
	"event_types" jsonb NOT NULL,
	"secret_ciphertext" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
CREATE TABLE "auth"."webhook_receipts" (
	"webhook_id" text PRIMARY KEY NOT NULL,
	"received_at" timestamp (3) with time zone NOT NULL,
	"type" text NOT NULL,
	"matched" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth"."webhook_secrets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"secret_ciphertext" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
ALTER TABLE "auth"."key_expiry_notices" ADD CONSTRAINT "key_expiry_notices_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "auth"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth"."webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "auth"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_dedup_key" ON "auth"."webhook_deliveries" USING btree ("endpoint_id","dedup_key");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "auth"."webhook_deliveries" USING btree ("next_attempt_at") WHERE "auth"."webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_page_idx" ON "auth"."webhook_deliveries" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "webhook_endpoints_page_idx" ON "auth"."webhook_endpoints" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "webhook_secrets_page_idx" ON "auth"."webhook_secrets" USING btree ("created_at","id");