CREATE TABLE "dispatch"."usage_hourly_accounts" (
	"hour" timestamp with time zone NOT NULL,
	"account" text NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"errors" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"cost_usd" numeric(24, 9),
	CONSTRAINT "usage_hourly_accounts_hour_account_model_pk" PRIMARY KEY("hour","account","model")
);
--> statement-breakpoint
-- The hours of the records stored so far (the runtime adds each batch's in the statement that stores it).
INSERT INTO "dispatch"."usage_hourly_accounts" ("hour", "account", "model", "requests", "errors",
	"input_tokens", "output_tokens", "cached_tokens", "cost_usd")
SELECT date_trunc('hour', "at", 'UTC'), "account", "model", count(*), count(*) FILTER (WHERE "status" >= 400),
	coalesce(sum("prompt_tokens"), 0), coalesce(sum("completion_tokens"), 0), coalesce(sum("cached_tokens"), 0),
	sum("cost_usd")
FROM "dispatch"."usage_records"
GROUP BY 1, 2, 3;
