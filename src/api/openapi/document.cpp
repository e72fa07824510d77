#include "api/openapi/document.h"

namespace cdn::api {

// The OpenAPI 3.1 document of the management API, served as is at GET /api/v1/openapi.json.
// tests/unit/api/openapi_test.cpp checks that its paths are exactly the router's routes: a
// route added, renamed or removed must be described here too.
std::string_view openapi_document() {
    static constexpr std::string_view DOCUMENT = R"openapi({
  "openapi": "3.1.0",
  "info": {
    "title": "ImageCDN management API",
    "version": "1.0.0",
    "description": "JSON in, JSON out. Errors answer `{\"error\": {\"code\", \"message\", \"field\"}}`. Lists answer `{\"items\": [...], \"next_cursor\": ...}`. Creates answer 201, deletes and logout 204, purge and internal ingest 202, other successes 200. Every response has `Cache-Control: no-store`. A path that exists with another method answers 405 `method_not_allowed` with `Allow`; an unknown path 404 `not_found`."
  },
  "servers": [
    {
      "url": "/"
    }
  ],
  "tags": [
    {
      "name": "Auth"
    },
    {
      "name": "API keys"
    },
    {
      "name": "Customer"
    },
    {
      "name": "Images"
    },
    {
      "name": "Usage"
    },
    {
      "name": "Presets"
    },
    {
      "name": "Purge"
    },
    {
      "name": "Billing"
    },
    {
      "name": "Webhooks"
    },
    {
      "name": "Meta"
    },
    {
      "name": "Internal"
    }
  ],
  "paths": {
    "/api/v1/auth/signup": {
      "post": {
        "operationId": "signup",
        "summary": "Create an account",
        "tags": [
          "Auth"
        ],
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Credentials"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The account (on the free plan), its public key and a token pair.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SignupResult"
                }
              }
            },
            "headers": {
              "Set-Cookie": {
                "description": "The refresh token as `HttpOnly; SameSite=Strict; Path=/api/v1/auth` cookie, for the dashboard.",
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "409": {
            "description": "`email_taken`: an account has this email (`error.field` is `email`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_request`: an invalid email, or a password under 10 characters (`error.field` names it).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/auth/login": {
      "post": {
        "operationId": "login",
        "summary": "Log in with email and password",
        "tags": [
          "Auth"
        ],
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Credentials"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "A token pair.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenPair"
                }
              }
            },
            "headers": {
              "Set-Cookie": {
                "description": "The refresh token as `HttpOnly; SameSite=Strict; Path=/api/v1/auth` cookie, for the dashboard.",
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "description": "`invalid_credentials`: wrong email or password (the same answer for an unknown email).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/auth/refresh": {
      "post": {
        "operationId": "refresh",
        "summary": "Exchange a refresh token for a new pair",
        "tags": [
          "Auth"
        ],
        "security": [],
        "description": "The refresh token comes from the body or, when the body has none, from the refresh-token cookie.",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RefreshRequest"
              }
            }
          },
          "description": "The refresh token; without a body (or without `refresh_token`) the refresh-token cookie is used."
        },
        "responses": {
          "200": {
            "description": "A new token pair; the refresh token used stops working (rotation).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenPair"
                }
              }
            },
            "headers": {
              "Set-Cookie": {
                "description": "The refresh token as `HttpOnly; SameSite=Strict; Path=/api/v1/auth` cookie, for the dashboard.",
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/auth/logout": {
      "post": {
        "operationId": "logout",
        "summary": "Revoke a refresh token",
        "tags": [
          "Auth"
        ],
        "security": [],
        "description": "The refresh token (body or cookie) is the credential: no access token is needed, so a dashboard whose access token has expired can still log out.",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RefreshRequest"
              }
            }
          },
          "description": "The refresh token to revoke; without it the refresh-token cookie is used."
        },
        "responses": {
          "204": {
            "description": "The refresh token (and every token rotated from it) is revoked and the cookie cleared. Also 204 for an unknown or already revoked token.",
            "headers": {
              "Set-Cookie": {
                "description": "Clears the refresh-token cookie.",
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/auth/me": {
      "get": {
        "operationId": "me",
        "summary": "The calling customer",
        "tags": [
          "Auth"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "responses": {
          "200": {
            "description": "The customer.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Customer"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/keys": {
      "get": {
        "operationId": "listKeys",
        "summary": "List API keys",
        "tags": [
          "API keys"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "responses": {
          "200": {
            "description": "The customer's API keys, never their secrets.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/ApiKey"
                      }
                    },
                    "next_cursor": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Pass as `cursor` for the next page; null on the last page."
                    }
                  },
                  "required": [
                    "items",
                    "next_cursor"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      },
      "post": {
        "operationId": "createKey",
        "summary": "Create an API key",
        "tags": [
          "API keys"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "A label for the key."
                  }
                },
                "required": [
                  "name"
                ],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The key with its secret, shown this once.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ApiKeyWithSecret"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "409": {
            "description": "`conflict`: the account has the most API keys it may have.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/keys/{id}/rotate": {
      "post": {
        "operationId": "rotateKey",
        "summary": "Rotate an API key",
        "tags": [
          "API keys"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The API key's id.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The key with its new secret, shown this once; the old secret stops working.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ApiKeyWithSecret"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/keys/{id}": {
      "delete": {
        "operationId": "deleteKey",
        "summary": "Delete an API key",
        "tags": [
          "API keys"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The API key's id.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "204": {
            "description": "Deleted; the key stops working at once on every node."
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/customer": {
      "get": {
        "operationId": "getCustomer",
        "summary": "The calling customer",
        "tags": [
          "Customer"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "responses": {
          "200": {
            "description": "The customer.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Customer"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/customer/settings": {
      "patch": {
        "operationId": "patchSettings",
        "summary": "Change delivery settings",
        "tags": [
          "Customer"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "description": "Each member present replaces that setting, `null` resets it to its default, members absent keep their value. Changes reach every edge node (the config channel).",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/SettingsPatch"
              }
            }
          }
        },
        "responses": {
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "200": {
            "description": "The customer with its new settings.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Customer"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "`feature_not_in_plan`: a setting the plan does not allow (`require_signed_urls`, `custom_domains`, AVIF).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "`conflict`: a custom domain belongs to another customer.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_settings`, `error.field` naming the setting.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/customer/signing-secret/rotate": {
      "post": {
        "operationId": "rotateSigningSecret",
        "summary": "Rotate the URL signing secret",
        "tags": [
          "Customer"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "responses": {
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "200": {
            "description": "The new secret, shown this once; URLs signed with the old one stop verifying.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "signing_secret": {
                      "type": "string"
                    }
                  },
                  "required": [
                    "signing_secret"
                  ]
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/customer/sign-url": {
      "post": {
        "operationId": "signUrl",
        "summary": "Sign a delivery URL",
        "tags": [
          "Customer"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "description": "Signs with the customer's secret on the server, so that the secret never reaches a browser.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "path": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 1024,
                    "description": "The image path."
                  },
                  "options": {
                    "type": "string",
                    "description": "Delivery options as a query string, e.g. `w=400&format=auto`; validated as delivery options."
                  },
                  "expires_in": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 31536000,
                    "description": "Seconds until the signature expires; without it the URL does not expire."
                  }
                },
                "required": [
                  "path"
                ],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The signed delivery URL.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "url": {
                      "type": "string",
                      "format": "uri"
                    }
                  },
                  "required": [
                    "url"
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "`feature_not_in_plan`: the plan has no signed URLs (and the customer does not require them).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_request` naming the field: an invalid path, options that are not valid delivery options (or hold `s`, or `exp` together with `expires_in`), an unknown preset.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/images/upload-url": {
      "post": {
        "operationId": "createUploadUrl",
        "summary": "Get a presigned upload URL",
        "tags": [
          "Images"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "path": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 1024,
                    "description": "Where the image goes."
                  },
                  "content_type": {
                    "type": "string",
                    "description": "The image's media type, e.g. image/jpeg."
                  },
                  "size": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "description": "Its size in bytes."
                  }
                },
                "required": [
                  "path",
                  "content_type",
                  "size"
                ],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Where and how to upload, valid 15 minutes, bound to the path, content type and size.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/UploadUrl"
                }
              }
            }
          },
          "400": {
            "description": "`invalid_path` (or `invalid_json`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "402": {
            "description": "`storage_quota_exceeded`: `size` more would exceed the plan's storage quota.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "`payload_too_large`: `size` is over the plan's largest original (or the body is too large).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "description": "`unsupported_media_type`: `content_type` is not an image type this service accepts (`error.field` is `content_type`), or the body is not JSON.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "422": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/uploads/{token}": {
      "put": {
        "operationId": "uploadWithToken",
        "summary": "Upload to a presigned URL",
        "tags": [
          "Images"
        ],
        "security": [],
        "description": "The local store's presigned upload: the URL and headers come from `POST /images/upload-url`; the token is the credential.",
        "parameters": [
          {
            "name": "token",
            "in": "path",
            "required": true,
            "description": "The one-time upload token from `POST /images/upload-url`.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "description": "The image file.",
          "content": {
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            },
            "image/*": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Stored, replacing the image that was at this path.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Image"
                }
              }
            }
          },
          "201": {
            "description": "Stored; there was no image at this path.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Image"
                }
              }
            }
          },
          "400": {
            "description": "`invalid_path`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "402": {
            "description": "`storage_quota_exceeded`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "`forbidden`: the upload URL is unknown, used or expired.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "`payload_too_large`: more bytes than the upload URL was made for (or than the plan allows).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "description": "`unsupported_media_type`: a `Content-Type` other than the one the URL was made for, or content that is not a supported image.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/images/{path}": {
      "put": {
        "operationId": "uploadImage",
        "summary": "Upload an image directly",
        "tags": [
          "Images"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "description": "Replaces the image at `path` atomically: a failed upload leaves the previous version intact; cached variants of the path are purged.",
        "parameters": [
          {
            "name": "path",
            "in": "path",
            "required": true,
            "description": "The image's path under the customer's namespace, e.g. `products/shoe.jpg`. It may hold `/` (sent as is, not escaped); percent-encoded bytes are decoded. 1 to 1024 bytes, no leading `/`, no `.` or `..` segment, no backslash or control character.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 1024
            }
          }
        ],
        "requestBody": {
          "required": true,
          "description": "The image file.",
          "content": {
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            },
            "image/*": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Stored, replacing the image that was at this path.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Image"
                }
              }
            }
          },
          "201": {
            "description": "Stored; there was no image at this path.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Image"
                }
              }
            }
          },
          "400": {
            "description": "`invalid_path`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "402": {
            "description": "`storage_quota_exceeded`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "description": "`unsupported_media_type`: not an image, or a format not supported (checked by content).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      },
      "get": {
        "operationId": "getImage",
        "summary": "An image's metadata",
        "tags": [
          "Images"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "path",
            "in": "path",
            "required": true,
            "description": "The image's path under the customer's namespace, e.g. `products/shoe.jpg`. It may hold `/` (sent as is, not escaped); percent-encoded bytes are decoded. 1 to 1024 bytes, no leading `/`, no `.` or `..` segment, no backslash or control character.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 1024
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The image.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Image"
                }
              }
            }
          },
          "400": {
            "description": "`invalid_path`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      },
      "delete": {
        "operationId": "deleteImage",
        "summary": "Delete an image",
        "tags": [
          "Images"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "path",
            "in": "path",
            "required": true,
            "description": "The image's path under the customer's namespace, e.g. `products/shoe.jpg`. It may hold `/` (sent as is, not escaped); percent-encoded bytes are decoded. 1 to 1024 bytes, no leading `/`, no `.` or `..` segment, no backslash or control character.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 1024
            }
          }
        ],
        "responses": {
          "204": {
            "description": "Deleted; the path's cached variants are purged."
          },
          "400": {
            "description": "`invalid_path`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/images": {
      "get": {
        "operationId": "listImages",
        "summary": "List images",
        "tags": [
          "Images"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "prefix",
            "in": "query",
            "required": false,
            "description": "Only paths starting with it.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "description": "`next_cursor` of the previous page.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "Items per page.",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 100
            }
          }
        ],
        "responses": {
          "200": {
            "description": "One page of images ordered by path.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Image"
                      }
                    },
                    "next_cursor": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Pass as `cursor` for the next page; null on the last page."
                    }
                  },
                  "required": [
                    "items",
                    "next_cursor"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "400": {
            "description": "`invalid_parameter`: a bad `limit` or `cursor`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/usage": {
      "get": {
        "operationId": "getUsage",
        "summary": "Usage series",
        "tags": [
          "Usage"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "description": "Counters of delivery requests as flushed to the usage store (each edge node writes its counts every `[usage] flush_interval_ms`; counts not yet flushed are not included). `granularity=day` lists every day of the range, zeros included; `granularity=hour` lists only the hours with traffic.",
        "parameters": [
          {
            "name": "from",
            "in": "query",
            "required": false,
            "description": "First UTC day, included (YYYY-MM-DD). Default: 29 days before `to`.",
            "schema": {
              "type": "string",
              "format": "date"
            }
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "description": "Last UTC day, included (YYYY-MM-DD). Default: today (UTC). At most 366 days after `from`.",
            "schema": {
              "type": "string",
              "format": "date"
            }
          },
          {
            "name": "granularity",
            "in": "query",
            "required": false,
            "description": "Bucket size.",
            "schema": {
              "type": "string",
              "enum": [
                "hour",
                "day"
              ],
              "default": "day"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The series, oldest first, in one page (`next_cursor` is always null).",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/UsageBucket"
                      }
                    },
                    "next_cursor": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Pass as `cursor` for the next page; null on the last page."
                    }
                  },
                  "required": [
                    "items",
                    "next_cursor"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "400": {
            "description": "`invalid_parameter` naming the parameter in `error.field` (a malformed date, `from` after `to`, a range over 366 days, a granularity other than hour or day, a parameter given twice), or `unknown_parameter`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/usage/quota": {
      "get": {
        "operationId": "getQuota",
        "summary": "This month's usage against the plan's quotas",
        "tags": [
          "Usage"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "responses": {
          "200": {
            "description": "The current calendar month (UTC).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Quota"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/presets": {
      "get": {
        "operationId": "listPresets",
        "summary": "List presets",
        "tags": [
          "Presets"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "responses": {
          "200": {
            "description": "The customer's presets ordered by name.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Preset"
                      }
                    },
                    "next_cursor": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Pass as `cursor` for the next page; null on the last page."
                    }
                  },
                  "required": [
                    "items",
                    "next_cursor"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/presets/{name}": {
      "put": {
        "operationId": "putPreset",
        "summary": "Create or replace a preset",
        "tags": [
          "Presets"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "name",
            "in": "path",
            "required": true,
            "description": "The preset's name, as used in `?preset=`.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 64
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "options": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Delivery options as a query string, validated exactly as delivery options, e.g. `w=400&h=300&fit=cover&format=auto`."
                  }
                },
                "required": [
                  "options"
                ],
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "200": {
            "description": "The preset, replaced.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Preset"
                }
              }
            }
          },
          "201": {
            "description": "The preset, created.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Preset"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "`feature_not_in_plan`: an option the plan does not allow (e.g. AVIF).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "`conflict`: the account has the most presets it may have.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_preset`, `error.field` naming the bad field (`name`, `options`).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      },
      "delete": {
        "operationId": "deletePreset",
        "summary": "Delete a preset",
        "tags": [
          "Presets"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "parameters": [
          {
            "name": "name",
            "in": "path",
            "required": true,
            "description": "The preset's name, as used in `?preset=`.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 64
            }
          }
        ],
        "responses": {
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "204": {
            "description": "Deleted."
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/purge": {
      "post": {
        "operationId": "purge",
        "summary": "Purge cached variants",
        "tags": [
          "Purge"
        ],
        "security": [
          {
            "bearerAuth": []
          },
          {
            "apiKeyAuth": []
          }
        ],
        "description": "Drops the cached variants (every size and format) of the originals named; the originals stay.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PurgeRequest"
              }
            }
          }
        },
        "responses": {
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "202": {
            "description": "Announced to every edge node, which drops the matching variants (within a second where Redis is configured).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PurgeAccepted"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "413": {
            "description": "`payload_too_large`: the body is over 2 MiB.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_request`: not exactly one of `paths`, `prefix`, `all`; `paths` empty, over 1000 or holding an invalid path (`error.field` is `paths`); an empty or invalid `prefix`; `all` not true; an unknown member.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/billing/plans": {
      "get": {
        "operationId": "listPlans",
        "summary": "The plans, cheapest first, with their features and limits",
        "tags": [
          "Billing"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "Every plan of the config (plans.md), each with its Stripe price id (null for free plans).",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": ["items"],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "type": "object",
                        "required": ["name", "price_usd", "stripe_price_id", "avif", "signed_urls", "custom_domains", "max_dimension", "rate_limit_rps", "bandwidth_quota_bytes", "over_quota", "storage_quota_bytes", "max_original_bytes"],
                        "properties": {
                          "name": {"type": "string"},
                          "price_usd": {"type": "number"},
                          "stripe_price_id": {"type": ["string", "null"]},
                          "avif": {"type": "boolean"},
                          "signed_urls": {"type": "boolean"},
                          "custom_domains": {"type": "integer"},
                          "max_dimension": {"type": "integer"},
                          "rate_limit_rps": {"type": "integer"},
                          "bandwidth_quota_bytes": {"type": "integer"},
                          "over_quota": {"type": "string", "enum": ["block", "overage"]},
                          "storage_quota_bytes": {"type": "integer"},
                          "max_original_bytes": {"type": "integer"}
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/api/v1/billing/checkout": {
      "post": {
        "operationId": "createCheckout",
        "summary": "A Stripe Checkout Session for a paid plan (the Stripe customer is created on first use)",
        "tags": ["Billing"],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"type": "object", "required": ["plan"], "additionalProperties": false, "properties": {"plan": {"type": "string", "description": "A paid plan's name, e.g. pro."}}}}}
        },
        "responses": {
          "200": {"description": "The Checkout Session's URL: send the browser there.", "content": {"application/json": {"schema": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "format": "uri"}}}}}},
          "400": {"$ref": "#/components/responses/InvalidJson"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"description": "`already_on_plan`: the customer has this plan; `conflict`: a live subscription to another plan (change it in the portal).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/InvalidRequest"},
          "500": {"$ref": "#/components/responses/Internal"},
          "502": {"description": "`billing_unavailable`: Stripe unreachable, timing out ([stripe] timeout_ms) or failing.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/billing/portal": {
      "post": {
        "operationId": "createPortalSession",
        "summary": "A Stripe Billing Portal session to manage the subscription, payment method and invoices",
        "tags": ["Billing"],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "responses": {
          "200": {"description": "The portal session's URL: send the browser there.", "content": {"application/json": {"schema": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "format": "uri"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "500": {"$ref": "#/components/responses/Internal"},
          "502": {"description": "`billing_unavailable`: Stripe unreachable, timing out ([stripe] timeout_ms) or failing.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/billing/invoices": {
      "get": {
        "operationId": "listInvoices",
        "summary": "The customer's invoices from Stripe, newest first",
        "tags": ["Billing"],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "responses": {
          "200": {
            "description": "Up to 24 invoices; empty before the first checkout.",
            "content": {"application/json": {"schema": {"type": "object", "required": ["items", "next_cursor"], "properties": {
              "items": {"type": "array", "items": {"type": "object", "required": ["id", "amount", "currency", "status", "created", "hosted_invoice_url"], "properties": {
                "id": {"type": "string"},
                "amount": {"type": "integer", "description": "Stripe's amount_due, in minor units."},
                "currency": {"type": "string"},
                "status": {"type": "string", "description": "draft, open, paid, uncollectible or void"},
                "created": {"type": "string", "format": "date-time"},
                "hosted_invoice_url": {"type": ["string", "null"], "format": "uri"}
              }}},
              "next_cursor": {"type": "null"}
            }}}}
          },
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "500": {"$ref": "#/components/responses/Internal"},
          "502": {"description": "`billing_unavailable`: Stripe unreachable, timing out ([stripe] timeout_ms) or failing.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/webhooks/stripe": {
      "post": {
        "operationId": "stripeWebhook",
        "summary": "Stripe events, verified by Stripe-Signature over the raw body and applied once each",
        "tags": ["Webhooks"],
        "security": [],
        "parameters": [{"name": "Stripe-Signature", "in": "header", "required": true, "schema": {"type": "string"}, "description": "t=<unix>,v1=<hex HMAC-SHA256 of t.payload>; several v1 allowed; 300 s tolerance either way."}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id", "type", "created", "data"], "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "created": {"type": "integer"}, "data": {"type": "object"}}}}}},
        "responses": {
          "200": {"description": "Received: applied now, or a replay or an unknown type (changed nothing).", "content": {"application/json": {"schema": {"type": "object", "required": ["received", "applied"], "properties": {"received": {"type": "boolean"}, "applied": {"type": "boolean"}}}}}},
          "400": {"description": "`invalid_signature`: no valid v1 signature, or a timestamp more than 300 s from now; `invalid_json` / `bad_request`: not a Stripe event.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"description": "`unavailable`: no [stripe] webhook_secret is configured (Stripe retries).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document",
        "tags": [
          "Meta"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "The OpenAPI 3.1 document of this API.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/internal/v1/customers/{public_key}": {
      "get": {
        "operationId": "internalCustomerByKey",
        "summary": "A customer's edge config by public key",
        "tags": [
          "Internal"
        ],
        "security": [
          {
            "internalSecret": []
          }
        ],
        "description": "For edge nodes that do not share the database.",
        "parameters": [
          {
            "name": "public_key",
            "in": "path",
            "required": true,
            "description": "The customer's public key (`pk_...`).",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "What an edge node needs to serve the customer.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/InternalCustomer"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "description": "`unknown_customer`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/internal/v1/hosts/{host}": {
      "get": {
        "operationId": "internalCustomerByHost",
        "summary": "A customer's edge config by custom domain",
        "tags": [
          "Internal"
        ],
        "security": [
          {
            "internalSecret": []
          }
        ],
        "parameters": [
          {
            "name": "host",
            "in": "path",
            "required": true,
            "description": "A custom domain (host name without port; matched case-insensitively).",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "What an edge node needs to serve the customer.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/InternalCustomer"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "description": "`unknown_customer`: no customer has this custom domain.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/internal/v1/usage": {
      "post": {
        "operationId": "internalUsage",
        "summary": "Ingest an edge node's usage batch",
        "tags": [
          "Internal"
        ],
        "security": [
          {
            "internalSecret": []
          }
        ],
        "description": "Counts are added, never replaced, so batches from several nodes for the same hour all count. A batch is all or nothing.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UsageBatch"
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Every item was added to its hour's counters, in one transaction.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "accepted": {
                      "type": "integer",
                      "format": "int64",
                      "description": "Items added."
                    }
                  },
                  "required": [
                    "accepted"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "413": {
            "description": "`payload_too_large`: the body is over 4 MiB.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_request`, `error.field` naming the item's member (e.g. `items[3].hour`); nothing is written.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    },
    "/internal/v1/purge": {
      "post": {
        "operationId": "internalPurge",
        "summary": "Fan a purge out to every edge node",
        "tags": [
          "Internal"
        ],
        "security": [
          {
            "internalSecret": []
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/InternalPurge"
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Announced on the purge channel.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "purged": {
                      "type": "string",
                      "enum": [
                        "paths",
                        "prefix",
                        "all"
                      ]
                    }
                  },
                  "required": [
                    "purged"
                  ],
                  "additionalProperties": false
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidJson"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "413": {
            "description": "`payload_too_large`: the body is over 2 MiB.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "`invalid_request`: not exactly the members of its scope, an empty or `:`-holding public key, no or empty paths, an empty prefix.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A dashboard access token from login, signup or refresh."
      },
      "apiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key `sk_...`."
      },
      "internalSecret": {
        "type": "http",
        "scheme": "bearer",
        "description": "The shared internal secret, node to node, on `/internal/v1` only."
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {
          "error": {
            "type": "object",
            "properties": {
              "code": {
                "type": "string",
                "description": "Machine-readable, snake_case, e.g. `invalid_request`."
              },
              "message": {
                "type": "string",
                "description": "For people; safe to show."
              },
              "field": {
                "type": "string",
                "description": "The request field, parameter or setting at fault, when there is one."
              }
            },
            "required": [
              "code",
              "message"
            ],
            "additionalProperties": false
          }
        },
        "required": [
          "error"
        ],
        "additionalProperties": false,
        "description": "Every error answer."
      },
      "Credentials": {
        "type": "object",
        "properties": {
          "email": {
            "type": "string",
            "format": "email",
            "maxLength": 254
          },
          "password": {
            "type": "string",
            "minLength": 10,
            "description": "At least 10 characters."
          }
        },
        "required": [
          "email",
          "password"
        ],
        "additionalProperties": false
      },
      "RefreshRequest": {
        "type": "object",
        "properties": {
          "refresh_token": {
            "type": "string"
          }
        },
        "additionalProperties": false
      },
      "TokenPair": {
        "type": "object",
        "properties": {
          "access_token": {
            "type": "string",
            "description": "JWT (HS256), valid `expires_in` seconds; send as `Authorization: Bearer`."
          },
          "refresh_token": {
            "type": "string"
          },
          "expires_in": {
            "type": "integer",
            "format": "int64",
            "description": "Seconds the access token is valid."
          }
        },
        "required": [
          "access_token",
          "refresh_token",
          "expires_in"
        ]
      },
      "SignupResult": {
        "type": "object",
        "properties": {
          "customer": {
            "$ref": "#/components/schemas/Customer"
          },
          "public_key": {
            "type": "string"
          },
          "access_token": {
            "type": "string"
          },
          "refresh_token": {
            "type": "string"
          },
          "expires_in": {
            "type": "integer",
            "format": "int64"
          }
        },
        "required": [
          "customer",
          "public_key",
          "access_token",
          "refresh_token",
          "expires_in"
        ]
      },
      "Customer": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "email": {
            "type": "string",
            "format": "email"
          },
          "plan": {
            "type": "string",
            "description": "The plan's name."
          },
          "billing_status": {
            "type": "string",
            "enum": [
              "active",
              "past_due"
            ]
          },
          "public_key": {
            "type": "string"
          },
          "settings": {
            "$ref": "#/components/schemas/CustomerSettings"
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "custom_domains": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "In `GET /customer` and `PATCH /customer/settings`."
          },
          "notices": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/SettingNotice"
            },
            "description": "In `GET /customer` and `PATCH /customer/settings`: settings the plan in force lacks, and what happens meanwhile (empty when none)."
          }
        },
        "required": [
          "id",
          "email",
          "plan",
          "billing_status",
          "public_key",
          "settings",
          "created_at"
        ]
      },
      "SettingNotice": {
        "type": "object",
        "description": "A setting the plan in force does not include. `require_signed_urls` stays enforced after a downgrade: only signed URLs are served, and signing still works, until it is turned off.",
        "properties": {
          "code": {
            "type": "string",
            "enum": [
              "feature_not_in_plan"
            ]
          },
          "setting": {
            "type": "string",
            "enum": [
              "require_signed_urls"
            ]
          },
          "message": {
            "type": "string"
          }
        },
        "required": [
          "code",
          "setting",
          "message"
        ]
      },
      "CustomerSettings": {
        "type": "object",
        "properties": {
          "allowed_domains": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "maxItems": 100,
            "description": "Host names allowed to embed the images (`*.example.com` wildcards); empty allows all."
          },
          "default_quality": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100
          },
          "default_format": {
            "type": "string",
            "enum": [
              "auto",
              "jpeg",
              "jpg",
              "png",
              "webp",
              "avif",
              "gif"
            ]
          },
          "require_signed_urls": {
            "type": "boolean",
            "description": "Plan-gated (signed URLs). Once set, enforced even after a downgrade to a plan without signed URLs (see `notices`)."
          },
          "custom_domains": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Host names serving the customer's images; plan-gated, unique across customers."
          },
          "cache_ttl_seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 31536000
          },
          "presets_only": {
            "type": "boolean"
          }
        },
        "description": "Settings that differ from their defaults."
      },
      "SettingsPatch": {
        "type": "object",
        "properties": {
          "allowed_domains": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            },
            "maxItems": 100,
            "description": "Host names allowed to embed the images (`*.example.com` wildcards); empty allows all."
          },
          "default_quality": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 1,
            "maximum": 100
          },
          "default_format": {
            "type": [
              "string",
              "null"
            ],
            "enum": [
              "auto",
              "jpeg",
              "jpg",
              "png",
              "webp",
              "avif",
              "gif",
              null
            ]
          },
          "require_signed_urls": {
            "type": [
              "boolean",
              "null"
            ],
            "description": "Plan-gated (signed URLs)."
          },
          "custom_domains": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            },
            "description": "Host names serving the customer's images; plan-gated, unique across customers."
          },
          "cache_ttl_seconds": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 0,
            "maximum": 31536000
          },
          "presets_only": {
            "type": [
              "boolean",
              "null"
            ]
          }
        },
        "additionalProperties": false
      },
      "ApiKey": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "prefix": {
            "type": "string",
            "description": "The start of the secret, to recognise it."
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "last_used_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "required": [
          "id",
          "name",
          "prefix",
          "created_at",
          "last_used_at"
        ]
      },
      "ApiKeyWithSecret": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "prefix": {
            "type": "string",
            "description": "The start of the secret, to recognise it."
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "secret": {
            "type": "string",
            "description": "`sk_...`, shown this once: send it as `X-API-Key`."
          }
        },
        "required": [
          "id",
          "name",
          "prefix",
          "created_at",
          "secret"
        ]
      },
      "Image": {
        "type": "object",
        "properties": {
          "path": {
            "type": "string"
          },
          "size": {
            "type": "integer",
            "format": "int64",
            "description": "Bytes."
          },
          "width": {
            "type": [
              "integer",
              "null"
            ]
          },
          "height": {
            "type": [
              "integer",
              "null"
            ]
          },
          "format": {
            "type": "string",
            "description": "jpeg, png, webp, avif, gif, heif, jxl, ..."
          },
          "content_type": {
            "type": "string"
          },
          "etag": {
            "type": "string"
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "path",
          "size",
          "width",
          "height",
          "format",
          "etag"
        ]
      },
      "UploadUrl": {
        "type": "object",
        "properties": {
          "url": {
            "type": "string",
            "format": "uri"
          },
          "method": {
            "type": "string",
            "enum": [
              "PUT"
            ]
          },
          "headers": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            },
            "description": "Headers the upload must send."
          },
          "expires_at": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "url",
          "method",
          "headers",
          "expires_at"
        ]
      },
      "UsageBucket": {
        "type": "object",
        "properties": {
          "t": {
            "type": "string",
            "format": "date-time",
            "description": "The bucket's first second (RFC 3339, UTC)."
          },
          "requests": {
            "type": "integer",
            "format": "int64"
          },
          "bytes_out": {
            "type": "integer",
            "format": "int64",
            "description": "Bytes of response bodies served."
          },
          "transforms": {
            "type": "integer",
            "format": "int64",
            "description": "Responses that ran the transform pipeline."
          },
          "cache_hits": {
            "type": "integer",
            "format": "int64"
          },
          "errors": {
            "type": "integer",
            "format": "int64",
            "description": "Responses with a 4xx or 5xx status."
          }
        },
        "required": [
          "t",
          "requests",
          "bytes_out",
          "transforms",
          "cache_hits",
          "errors"
        ],
        "additionalProperties": false
      },
      "Quota": {
        "type": "object",
        "properties": {
          "plan": {
            "type": "string",
            "description": "The plan the quotas are from."
          },
          "period_start": {
            "type": "string",
            "format": "date-time",
            "description": "First second of the calendar month (UTC)."
          },
          "period_end": {
            "type": "string",
            "format": "date-time",
            "description": "First second of the next month: the period is [period_start, period_end)."
          },
          "bandwidth_used": {
            "type": "integer",
            "format": "int64",
            "description": "Bytes served this month, as the edge enforces it (flushed counts plus this node's unflushed ones)."
          },
          "bandwidth_quota": {
            "type": "integer",
            "format": "int64",
            "description": "Bytes per month of the plan."
          },
          "storage_used": {
            "type": "integer",
            "format": "int64",
            "description": "Bytes of the customer's originals."
          },
          "storage_quota": {
            "type": "integer",
            "format": "int64"
          },
          "requests": {
            "type": "integer",
            "format": "int64",
            "description": "Delivery requests this month (flushed counts)."
          }
        },
        "required": [
          "period_start",
          "period_end",
          "bandwidth_used",
          "bandwidth_quota",
          "storage_used",
          "storage_quota",
          "requests"
        ],
        "additionalProperties": false
      },
      "Preset": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          },
          "options": {
            "type": "string"
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "name",
          "options"
        ]
      },
      "PurgeRequest": {
        "oneOf": [
          {
            "type": "object",
            "properties": {
              "paths": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {
                  "type": "string",
                  "minLength": 1,
                  "maxLength": 1024,
                  "description": "An image path (1 to 1024 bytes, no leading `/`, `.`/`..` segment, backslash or control character)."
                }
              }
            },
            "required": [
              "paths"
            ],
            "additionalProperties": false
          },
          {
            "type": "object",
            "properties": {
              "prefix": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "description": "Every image whose path starts with it, e.g. `products/`."
              }
            },
            "required": [
              "prefix"
            ],
            "additionalProperties": false
          },
          {
            "type": "object",
            "properties": {
              "all": {
                "type": "boolean",
                "const": true
              }
            },
            "required": [
              "all"
            ],
            "additionalProperties": false
          }
        ],
        "description": "Exactly one of the three forms."
      },
      "PurgeAccepted": {
        "type": "object",
        "properties": {
          "purged": {
            "type": "string",
            "enum": [
              "paths",
              "prefix",
              "all"
            ],
            "description": "The form of the purge."
          },
          "paths": {
            "type": "integer",
            "format": "int64",
            "description": "For `paths`: how many were named."
          }
        },
        "required": [
          "purged"
        ],
        "additionalProperties": false
      },
      "InternalCustomer": {
        "type": "object",
        "properties": {
          "customer": {
            "type": "object",
            "properties": {
              "id": {
                "type": "string"
              },
              "public_key": {
                "type": "string"
              },
              "email": {
                "type": "string"
              },
              "plan": {
                "type": "string"
              },
              "suspended": {
                "type": "boolean"
              },
              "billing_status": {
                "type": "string",
                "enum": [
                  "active",
                  "past_due"
                ]
              },
              "signing_secret": {
                "type": "string",
                "description": "The URL signing secret (edge nodes verify signed URLs)."
              },
              "settings": {
                "$ref": "#/components/schemas/CustomerSettings"
              }
            },
            "required": [
              "id",
              "public_key",
              "email",
              "plan",
              "suspended",
              "billing_status",
              "signing_secret",
              "settings"
            ],
            "additionalProperties": false
          },
          "custom_domains": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "presets": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            },
            "description": "Preset name → options."
          }
        },
        "required": [
          "customer",
          "custom_domains",
          "presets"
        ],
        "additionalProperties": false
      },
      "UsageBatch": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "maxItems": 10000,
            "items": {
              "type": "object",
              "properties": {
                "customer_id": {
                  "type": "string",
                  "minLength": 1,
                  "maxLength": 128
                },
                "hour": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 0,
                  "description": "Any unix second of the hour (stored as the hour's first second)."
                },
                "requests": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 0,
                  "default": 0
                },
                "bytes_out": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 0,
                  "default": 0
                },
                "transforms": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 0,
                  "default": 0
                },
                "cache_hits": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 0,
                  "default": 0
                },
                "errors": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 0,
                  "default": 0
                }
              },
              "required": [
                "customer_id",
                "hour"
              ],
              "additionalProperties": false
            }
          }
        },
        "required": [
          "items"
        ],
        "additionalProperties": false
      },
      "InternalPurge": {
        "oneOf": [
          {
            "type": "object",
            "properties": {
              "public_key": {
                "type": "string"
              },
              "scope": {
                "type": "string",
                "const": "paths"
              },
              "paths": {
                "type": "array",
                "minItems": 1,
                "items": {
                  "type": "string",
                  "minLength": 1
                }
              }
            },
            "required": [
              "public_key",
              "scope",
              "paths"
            ],
            "additionalProperties": false
          },
          {
            "type": "object",
            "properties": {
              "public_key": {
                "type": "string"
              },
              "scope": {
                "type": "string",
                "const": "prefix"
              },
              "prefix": {
                "type": "string",
                "minLength": 1
              }
            },
            "required": [
              "public_key",
              "scope",
              "prefix"
            ],
            "additionalProperties": false
          },
          {
            "type": "object",
            "properties": {
              "public_key": {
                "type": "string"
              },
              "scope": {
                "type": "string",
                "const": "all"
              }
            },
            "required": [
              "public_key",
              "scope"
            ],
            "additionalProperties": false
          }
        ],
        "description": "A purge as edge nodes exchange it on the purge channel."
      }
    },
    "responses": {
      "Unauthorized": {
        "description": "`unauthorized`: missing or bad credentials (an expired or forged JWT, an unknown API key, or, on `/internal/v1`, not the internal secret).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "InvalidJson": {
        "description": "`invalid_json`: the body is not a JSON object.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "UnsupportedMediaType": {
        "description": "`unsupported_media_type`: the body is not `application/json`.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "PayloadTooLarge": {
        "description": "`payload_too_large`: the body is over the limit (64 KiB for JSON unless stated).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "InvalidRequest": {
        "description": "`invalid_request`: a well-formed body with a bad field, named in `error.field`.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "NotFound": {
        "description": "`not_found`.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "TooManyRequests": {
        "description": "`too_many_requests`: too many sign-up or login attempts; `rate_limited`: too many purges or settings writes for this account this minute (`[limits] purge_requests_per_minute`). Retry after `Retry-After` seconds.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "headers": {
          "Retry-After": {
            "schema": {
              "type": "integer"
            }
          }
        }
      },
      "Internal": {
        "description": "`internal_error` (or 503 `unavailable` when the database cannot answer).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    }
  }
}
)openapi";
    return DOCUMENT;
}

} // namespace cdn::api
