CREATE SCHEMA "acl";
--> statement-breakpoint
CREATE TABLE "acl"."audit_events" (
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
CREATE TABLE "acl"."grants" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
CREATE TABLE "acl"."outbox" (
	"sequence" bigint PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "acl"."team_members" (
	"team_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"added_at" timestamp (3) with time zone NOT NULL,
	"added_by" uuid,
	CONSTRAINT "team_members_team_id_user_id_pk" PRIMARY KEY("team_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "acl"."teams" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_by" uuid
);
--> statement-breakpoint
ALTER TABLE "acl"."team_members" ADD CONSTRAINT "team_members_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "acl"."teams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_page_idx" ON "acl"."audit_events" USING btree ("at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "grants_account_subject_key" ON "acl"."grants" USING btree ("account","subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "grants_subject_idx" ON "acl"."grants" USING btree ("subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "grants_page_idx" ON "acl"."grants" USING btree ("account","created_at","id");--> statement-breakpoint
CREATE INDEX "outbox_unpublished_idx" ON "acl"."outbox" USING btree ("sequence") WHERE "acl"."outbox"."published_at" is null;--> statement-breakpoint
CREATE INDEX "team_members_user_idx" ON "acl"."team_members" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "team_members_page_idx" ON "acl"."team_members" USING btree ("team_id","added_at","user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "teams_name_lower_key" ON "acl"."teams" USING btree (lower("name"));--> statement-breakpoint
CREATE INDEX "teams_page_idx" ON "acl"."teams" USING btree ("created_at","id");