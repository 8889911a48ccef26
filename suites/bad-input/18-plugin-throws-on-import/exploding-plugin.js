// A local plugin whose module throws while it is being imported.
throw new Error('exploding-plugin: native binding failed to initialise');
