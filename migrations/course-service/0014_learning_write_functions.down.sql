-- Back to the multi-statement writes of the services (they no longer call these after a downgrade of the code).
DROP FUNCTION learning_set_completion(uuid, uuid, boolean, boolean, text, uuid, text, uuid);
DROP FUNCTION learning_enrol(uuid, uuid, uuid, text, uuid);
