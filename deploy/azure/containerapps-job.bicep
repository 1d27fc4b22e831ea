// mlgov as an Azure Container Apps Job: `mlgov audit` on a schedule, as a user-assigned
// managed identity that holds Reader on the audited subscriptions.
//
//   az deployment group create -g rg-mlgov -f deploy/azure/containerapps-job.bicep \
//     -p containerAppsEnvironmentId=... image=myregistry.azurecr.io/mlgov:0.1.0 acrName=myregistry \
//        stateStorageName=mlgov-state configYaml=@config.yaml teamsWebhookUrl=$MLGOV_TEAMS_WEBHOOK_URL
//
// See docs/deploy.md for the whole walk-through and docs/permissions.md for the roles.
targetScope = 'resourceGroup'

@description('Region of the identity and the job (the Container Apps environment\'s region).')
param location string = resourceGroup().location

@description('Name of the job and prefix of the identity.')
@maxLength(32)
param name string = 'mlgov'

@description('Resource id of an existing Container Apps environment (Microsoft.App/managedEnvironments).')
param containerAppsEnvironmentId string

@description('Image to run. Pin a digest in production: myregistry.azurecr.io/mlgov:0.1.0@sha256:...')
param image string

@description('Name of the Azure Container Registry holding the image (pulled with the managed identity, which gets AcrPull on it). Empty for a public image.')
param acrName string = ''

@description('Resource group of that registry, if not this one.')
param acrResourceGroupName string = resourceGroup().name

@description('Schedule (5-field cron). Container Apps evaluates it in UTC: 0 6 * * 1-5 is 06:00 UTC on weekdays.')
param cronExpression string = '0 6 * * 1-5'

@description('Longest a run may take, in seconds (above collection.timeout_seconds plus notification time).')
param replicaTimeoutSeconds int = 3600

@description('Subscriptions the identity may read (Reader at subscription scope). Default: this one.')
param auditedSubscriptionIds array = [
  subscription().subscriptionId
]

@description('Name of the environment\'s Azure Files storage (Microsoft.App/managedEnvironments/storages) for the state store; see docs/deploy.md.')
param stateStorageName string

@description('The mlgov config file (YAML). It is stored as a job secret and mounted at /etc/mlgov/config.yaml; use \${env:MLGOV_TEAMS_WEBHOOK_URL} in it for the Teams destination.')
@secure()
param configYaml string

@description('Teams Workflows URL (it carries a signature: a secret). Exposed to mlgov as MLGOV_TEAMS_WEBHOOK_URL.')
@secure()
param teamsWebhookUrl string = ''

@description('Standard Webhooks signing secret (whsec_...) for a generic webhook destination, exposed as MLGOV_WEBHOOK_SECRET.')
@secure()
param webhookSecret string = ''

@description('CPU cores and memory of the job container.')
param cpu string = '0.5'
param memory string = '1Gi'

var usesAcr = !empty(acrName)

// --- identity ----------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-identity'
  location: location
}

// Reader on every audited subscription: discovery, AML workspaces/computes/jobs, registries'
// listUsages, role assignments (all */read). A module, because a role assignment at
// subscription scope cannot be declared in a resource-group deployment.
module subscriptionReader 'modules/subscription-reader.bicep' = [for sub in auditedSubscriptionIds: {
  name: '${name}-reader-${uniqueString(sub)}'
  scope: subscription(sub)
  params: {
    principalId: identity.properties.principalId
  }
}]

// AcrPull on the registry, so the job pulls its image with the same identity (no admin user).
module acrPull 'modules/acr-pull.bicep' = if (usesAcr) {
  name: '${name}-acrpull'
  scope: resourceGroup(acrResourceGroupName)
  params: {
    registryName: acrName
    principalId: identity.properties.principalId
  }
}

// --- the job -----------------------------------------------------------------------------

var baseSecrets = [
  {
    name: 'config-yaml'
    value: configYaml
  }
]
var teamsSecrets = empty(teamsWebhookUrl) ? [] : [
  {
    name: 'teams-webhook-url'
    value: teamsWebhookUrl
  }
]
var webhookSecrets = empty(webhookSecret) ? [] : [
  {
    name: 'webhook-secret'
    value: webhookSecret
  }
]
var teamsEnv = empty(teamsWebhookUrl) ? [] : [
  {
    name: 'MLGOV_TEAMS_WEBHOOK_URL'
    secretRef: 'teams-webhook-url'
  }
]
var webhookEnv = empty(webhookSecret) ? [] : [
  {
    name: 'MLGOV_WEBHOOK_SECRET'
    secretRef: 'webhook-secret'
  }
]

resource job 'Microsoft.App/jobs@2024-03-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: containerAppsEnvironmentId
    configuration: {
      triggerType: 'Schedule'
      scheduleTriggerConfig: {
        cronExpression: cronExpression
        parallelism: 1 // one audit at a time: one writer of the state store
        replicaCompletionCount: 1
      }
      replicaTimeout: replicaTimeoutSeconds
      replicaRetryLimit: 0 // mlgov retries API calls itself; a re-run would re-notify
      registries: usesAcr ? [
        {
          server: '${acrName}.azurecr.io'
          identity: identity.id
        }
      ] : []
      secrets: concat(baseSecrets, teamsSecrets, webhookSecrets)
    }
    template: {
      containers: [
        {
          name: 'mlgov'
          image: image
          args: [
            'audit'
            '--config'
            '/etc/mlgov/config.yaml'
            '--notify'
            '--no-progress'
          ]
          env: concat([
            {
              // azure-identity picks the user-assigned identity by this client id.
              name: 'AZURE_CLIENT_ID'
              value: identity.properties.clientId
            }
            {
              // Skip developer credentials (CLI, VS Code...) in DefaultAzureCredential.
              name: 'AZURE_TOKEN_CREDENTIALS'
              value: 'ManagedIdentityCredential'
            }
          ], teamsEnv, webhookEnv)
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          volumeMounts: [
            {
              volumeName: 'config'
              mountPath: '/etc/mlgov'
            }
            {
              volumeName: 'state'
              mountPath: '/var/lib/mlgov'
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'config'
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'config-yaml'
              path: 'config.yaml'
            }
          ]
        }
        {
          // Azure Files: the only persistent storage of Container Apps. SQLite on SMB is safe
          // only with one writer and `state.journal_mode: delete` (never wal): parallelism 1
          // and replicaRetryLimit 0 above keep it to one run at a time.
          name: 'state'
          storageType: 'AzureFile'
          storageName: stateStorageName
          mountOptions: 'uid=10001,gid=10001,dir_mode=0750,file_mode=0640'
        }
      ]
    }
  }
  dependsOn: [
    acrPull
    subscriptionReader
  ]
}

output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output jobName string = job.name
