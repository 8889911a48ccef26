// Written for a plugin API this core does not implement; never imported by a compatible core.
throw new Error('future-plugin must not be imported by a core implementing plugin API 1');
