// Claims the provider type "twin", like its sibling: never imported, the conflict is found from the manifests.
throw new Error('a twin plugin must not be imported while its type is claimed twice');
