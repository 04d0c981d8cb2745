-- Numbers that answered STOP (or another opt-out keyword): no texts go to them until they
-- answer START. Kept in E.164.
CREATE TABLE sms_opt_outs (
    phone           TEXT PRIMARY KEY,
    opted_out_at    INTEGER NOT NULL
);
