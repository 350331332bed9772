-- Ends the statement that calls it with an error (SQLSTATE P0002,
-- no_data_found, the message given). A write done in one statement outside
-- a transaction (a download) has no ROLLBACK to undo its first steps when a
-- later one finds its row gone: failing the statement is what undoes them.
-- VOLATILE (the default), so the planner never evaluates it ahead of time.
CREATE FUNCTION vault_fail(reason TEXT) RETURNS BOOLEAN
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = reason;
END
$$;
