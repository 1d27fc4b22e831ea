// Reader at subscription scope for the mlgov identity (deployed once per audited subscription).
targetScope = 'subscription'

@description('Principal (object) id of the managed identity.')
param principalId string

// Built-in role "Reader" (Actions: */read).
var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, readerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mlgov: read-only governance audit'
  }
}
