// Strongbox on Azure Functions Flex Consumption, deployed into one resource group.
// Identity only: the storage account refuses shared keys, so the app, the Functions host, Durable Functions
// and the deployment all reach storage with one user-assigned managed identity and RBAC roles.
// Every setting shared/config/config.ts reads is set below; test/infra/settings.test.ts checks that.
targetScope = 'resourceGroup'

@description('Azure region for every resource. Flex Consumption is not offered in every region.')
param location string = resourceGroup().location

@description('Short lowercase prefix for resource names (letters and digits).')
@minLength(2)
@maxLength(10)
param namePrefix string = 'strongbox'

@description('Storage redundancy: LRS (default), ZRS or GRS.')
@allowed([
  'LRS'
  'ZRS'
  'GRS'
])
param storageRedundancy string = 'LRS'

@description('Audience (Application ID URI or client ID) of the Entra app registration that callers get tokens for.')
@minLength(1)
param authAudience string

@description('Token issuer. Defaults to this tenant\'s Entra ID v2.0 issuer.')
param authIssuer string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

@description('Signing keys of the issuer. Defaults to this tenant\'s Entra ID v2.0 keys.')
param authJwksUri string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/discovery/v2.0/keys'

@description('Key Vault URI for wrapping vault keys (optional). The app\'s identity needs "Key Vault Crypto Service Encryption User" on the key.')
param keyVaultUri string = ''

@description('Name of the RSA key in that Key Vault that wraps vault keys (RSA-OAEP-256).')
param keyVaultKeyName string = 'strongbox-kek'

@description('Prefix of the blob containers that hold vaults.')
param vaultContainerPrefix string = 'vault-'

@description('Upper bound on instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

// uniqueString is deterministic per resource group, so redeploying updates the same resources.
var suffix = uniqueString(resourceGroup().id, namePrefix)
var prefix = toLower(namePrefix)
// Azure: storage account names are 3-24 lowercase letters and digits.
var storageAccountName = take('${replace(prefix, '-', '')}${suffix}', 24)
var functionAppName = '${prefix}-func-${suffix}'
var deploymentContainerName = 'app-package'

// Built-in role definition IDs (identical in every tenant).
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-id-${suffix}'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_${storageRedundancy}'
  }
  properties: {
    accessTier: 'Hot'
    // Keys cannot be used at all: every caller must present an Entra token.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption pulls the app package from this container.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${prefix}-log-${suffix}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-appi-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry must be sent with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), not the key alone.
    DisableLocalAuth: true
  }
}

// Role assignment names must be deterministic GUIDs; scope, principal and role make them unique.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${prefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux: Flex Consumption runs on Linux only.
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      // AzureWebJobsStorage (a connection string) and FUNCTIONS_WORKER_RUNTIME are deliberately absent:
      // the identity-based settings replace the first, and Flex Consumption takes the runtime from
      // functionAppConfig.runtime and lists that app setting as not supported.
      appSettings: [
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storage.properties.primaryEndpoints.blob
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storage.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storage.properties.primaryEndpoints.table
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
        {
          name: 'STRONGBOX_VAULT_CONTAINER_PREFIX'
          value: vaultContainerPrefix
        }
        {
          name: 'STRONGBOX_AUTH_ISSUER'
          value: authIssuer
        }
        {
          name: 'STRONGBOX_AUTH_AUDIENCE'
          value: authAudience
        }
        {
          name: 'STRONGBOX_AUTH_JWKS_URI'
          value: authJwksUri
        }
        {
          name: 'STRONGBOX_KEY_VAULT_URI'
          value: keyVaultUri
        }
        {
          name: 'STRONGBOX_KEY_VAULT_KEY_NAME'
          value: keyVaultKeyName
        }
        {
          // Empty means unset: a Flex instance has no lasting local disk to keep a key file on.
          name: 'STRONGBOX_LOCAL_KEY_FILE'
          value: ''
        }
        {
          // Empty: the default (32, Azure VM backup's limit on data disks).
          name: 'STRONGBOX_VM_MAX_DATA_DISKS'
          value: ''
        }
        {
          // Import/Export jobs go in this resource group, next to the storage account they import into.
          // The identity needs a role that allows Microsoft.ImportExport/jobs/* here (not assigned by
          // this template yet: docs/offline-seeding.md, "Production ImportService").
          name: 'STRONGBOX_IMPORT_SUBSCRIPTION_ID'
          value: subscription().subscriptionId
        }
        {
          name: 'STRONGBOX_IMPORT_RESOURCE_GROUP'
          value: resourceGroup().name
        }
        {
          name: 'STRONGBOX_IMPORT_LOCATION'
          value: location
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
  // The host reads its package and its Durable Functions state with these roles as soon as it starts.
  dependsOn: [
    deploymentContainer
    blobDataOwner
    queueDataContributor
    tableDataContributor
    metricsPublisher
  ]
}

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
